"""Training augmentation of a (real, fake) pair, as DDA aligns it.

Applied IDENTICALLY to both members (so neither size, scale nor framing tells them apart):
- with `resample_probability`, a resampling down by U(resample_down) then up by
  U(resample_up), with one filter drawn from `RESAMPLE_FILTERS`; the up factor is raised
  where needed so the result still holds a crop;
- the random crop position.
Drawn PER IMAGE (as DDA's transforms do, so the expert cannot lean on them either way):
- JPEG at a quality from U(jpeg_quality) with `jpeg_probability` (before the crop, so the
  8x8 grid lands anywhere in the crop, as in a crop of a real JPEG);
- Gaussian blur with sigma from U(blur_sigma) with `blur_probability` (before the crop:
  no border effects);
- colour jitter with `jitter_probability`: brightness, contrast and saturation factors from
  U(1 - jitter_strength, 1 + jitter_strength) (after the crop: pointwise per image apart
  from contrast's mean, and far cheaper on a crop).
Images smaller than the crop are padded by the rule in `aligngemini.pixel.crops`.

Every draw comes from the `numpy.random.Generator` passed in, so a pair's augmentation is
fixed by the seed the caller derives for it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from aligngemini.datasets.align import jpeg
from aligngemini.pixel.config import AugmentConfig
from aligngemini.pixel.crops import pad_to_crop

RESAMPLE_FILTERS = (
    Image.Resampling.NEAREST, Image.Resampling.BOX, Image.Resampling.BILINEAR,
    Image.Resampling.HAMMING, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS,
)  # fmt: skip


def augment_pair(
    real: Image.Image, fake: Image.Image, config: AugmentConfig, crop: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`(crop, crop, 3)` uint8 crops of `real` and `fake` (rules in the module docstring)."""
    if real.size != fake.size:
        raise ValueError(f"a pair must have one size, got real {real.size} and fake {fake.size}")
    if rng.random() < config.resample_probability:
        real, fake = resample_pair(real, fake, config, crop, rng)
    real, fake = (_degrade(image, config, rng) for image in (real, fake))
    real_px, fake_px = (pad_to_crop(np.asarray(image.convert("RGB")), crop) for image in (real, fake))
    y = int(rng.integers(0, real_px.shape[0] - crop + 1))
    x = int(rng.integers(0, real_px.shape[1] - crop + 1))
    return tuple(_jitter(px[y : y + crop, x : x + crop], config, rng) for px in (real_px, fake_px))


def resample_pair(
    real: Image.Image, fake: Image.Image, config: AugmentConfig, crop: int, rng: np.random.Generator
) -> tuple[Image.Image, Image.Image]:
    """Both images scaled down then up by the same factors and filter."""
    down = rng.uniform(*config.resample_down)
    up = rng.uniform(*config.resample_up)
    method = RESAMPLE_FILTERS[int(rng.integers(len(RESAMPLE_FILTERS)))]
    small = tuple(max(1, round(side * down)) for side in real.size)
    # the short side must come back to at least the crop (or to where it was, if it was
    # shorter), so crops never need more padding than the original image did
    up = max(up, min(crop, *real.size) / min(small))
    large = tuple(round(side * up) for side in small)
    return tuple(image.resize(small, method).resize(large, method) for image in (real, fake))


def _degrade(image: Image.Image, config: AugmentConfig, rng: np.random.Generator) -> Image.Image:
    if rng.random() < config.jpeg_probability:
        image, _ = jpeg(image, int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)))
    if rng.random() < config.blur_probability:
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(*config.blur_sigma))))
    return image


def _jitter(pixels: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    if rng.random() >= config.jitter_probability:
        return np.ascontiguousarray(pixels)
    image = Image.fromarray(np.ascontiguousarray(pixels))
    low, high = 1 - config.jitter_strength, 1 + config.jitter_strength
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(float(rng.uniform(low, high)))
    return np.asarray(image)
