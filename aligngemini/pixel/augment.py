"""Training augmentation of a (real, fake) pair, as DDA (Dual Data Alignment) aligns it.

An item is the pair itself and, with `resized_copies_probability`, its down- and
up-resized copies: both members scaled by U(resample_down) and by U(resample_up), with
two distinct filters from `RESAMPLE_FILTERS`, the same factor and filter for both members
(the down factor is kept high enough that a copy's short side stays above half the crop,
the least the inference accepts). So an item holds 2 or 6 images; each copy is labelled
like its source.

Before that, the fake may be blended with its real (it stays a fake, as in DDA), in a
random order when both apply: a pixel mix with `pixel_mix_probability`,
b * fake + (1 - b) * real, b ~ U(0, pixel_mix_max_ratio); a frequency mix with
`freq_mix_probability`, a * DCT(real) + (1 - a) * DCT(fake) over the whole image per
channel, a ~ U(0, freq_mix_max_ratio). The whole-image orthonormal DCT is linear, so the
frequency mix equals a pixel mix with fake weight 1 - a: the two differ in the range of
the fake's weight, [0, r] against [1 - r, 1].

Then every image goes through one transform, in this order:
- with `resample_probability`, resampling down by U(resample_down) then up by
  U(resample_up) with one filter; the up factor is raised where needed so the result
  still holds a crop;
- JPEG at a quality from U(jpeg_quality) with `jpeg_probability` (before the crop, so the
  8x8 grid lands anywhere in the crop, as in a crop of a real JPEG);
- Gaussian blur with sigma from U(blur_sigma) with `blur_probability` (before the crop:
  no border effects);
- the random crop (its position drawn as a share of the free room, so copies of other
  sizes frame the same region), padded by the rule in `aligngemini.pixel.crops`;
- horizontal and vertical flips with `hflip_probability` and `vflip_probability`;
- colour jitter with `jitter_probability`: brightness, contrast and saturation factors from
  U(1 - jitter_strength, 1 + jitter_strength) (after the crop: far cheaper).
With `paired`, every choice of that transform is drawn once per item, so all its images
are treated alike and only decoder traces tell real from fake. Without it, the geometry
(resampling, crop, flips) is still drawn once per item, so the members keep showing the
same content, but JPEG, blur and jitter are drawn per image (the ablation).

Every draw comes from the `numpy.random.Generator` passed in, so an item's augmentation
is fixed by the seed the caller derives for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter
from scipy.fft import dctn, idctn

from aligngemini.datasets.align import jpeg
from aligngemini.pixel.config import AugmentConfig
from aligngemini.pixel.crops import pad_to_crop

RESAMPLE_FILTERS = (
    Image.Resampling.NEAREST, Image.Resampling.BOX, Image.Resampling.BILINEAR,
    Image.Resampling.HAMMING, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS,
)  # fmt: skip

Crops = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Geometry:
    """The choices that are shared by every image of an item."""

    resample: tuple[float, float, Image.Resampling] | None  # down, up, filter
    crop_at: tuple[float, float]  # offset as a share of the free room along y and x
    flips: tuple[bool, bool]  # horizontal, vertical


@dataclass(frozen=True)
class Look:
    """The photometric choices: per item with `paired`, per image without."""

    jpeg_quality: int | None
    blur_sigma: float | None
    jitter: tuple[float, float, float] | None  # brightness, contrast, saturation


def augment_pair(real: Image.Image, fake: Image.Image, config: AugmentConfig, crop: int, rng: np.random.Generator) -> Crops:
    """`(real, fake)` uint8 `(crop, crop, 3)` crops of the pair, then of its down- and
    up-resized copies when drawn (rules in the module docstring)."""
    if real.size != fake.size:
        raise ValueError(f"a pair must have one size, got real {real.size} and fake {fake.size}")
    real = real.convert("RGB")
    fake = mix_fake(real, fake.convert("RGB"), config, rng)
    sources = [(real, fake)]
    if rng.random() < config.resized_copies_probability:
        sources += resized_copies(real, fake, config, crop, rng)
    geometry = _draw_geometry(config, rng)
    shared_look = _draw_look(config, rng) if config.paired else None
    return [
        tuple(_transform(image, geometry, shared_look or _draw_look(config, rng), crop) for image in pair)
        for pair in sources
    ]  # fmt: skip


def mix_fake(real: Image.Image, fake: Image.Image, config: AugmentConfig, rng: np.random.Generator) -> Image.Image:
    """The fake after the pixel and frequency mixes with its real that were drawn."""
    mixes = [
        mix for mix, probability in ((_pixel_mix, config.pixel_mix_probability), (_freq_mix, config.freq_mix_probability))
        if rng.random() < probability
    ]  # fmt: skip
    if not mixes:
        return fake
    real_px, fake_px = (np.asarray(image, dtype=np.float64) for image in (real, fake))
    for index in rng.permutation(len(mixes)):
        fake_px = mixes[index](real_px, fake_px, config, rng)
    return Image.fromarray(np.clip(np.rint(fake_px), 0, 255).astype(np.uint8))


def _pixel_mix(real: np.ndarray, fake: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    weight = rng.uniform(0, config.pixel_mix_max_ratio)
    return weight * fake + (1 - weight) * real


def _freq_mix(real: np.ndarray, fake: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    weight = rng.uniform(0, config.freq_mix_max_ratio)
    real_dct, fake_dct = (dctn(image, axes=(0, 1), norm="ortho") for image in (real, fake))
    return idctn(weight * real_dct + (1 - weight) * fake_dct, axes=(0, 1), norm="ortho")


def resized_copies(
    real: Image.Image, fake: Image.Image, config: AugmentConfig, crop: int, rng: np.random.Generator
) -> list[tuple[Image.Image, Image.Image]]:
    """The down- and the up-resized copy of both members, the same factor and filter for both."""
    short = min(real.size)
    # inference refuses sides of half the crop or less (min_side > crop // 2), so the down
    # factor's range is cut where a copy would fall below that
    low = max(config.resample_down[0], min(crop // 2 + 1, short) / short)
    factors = (rng.uniform(low, max(low, config.resample_down[1])), rng.uniform(*config.resample_up))
    filters = rng.choice(len(RESAMPLE_FILTERS), size=2, replace=False)
    copies = []
    for factor, index in zip(factors, filters):
        size = tuple(max(1, round(side * factor)) for side in real.size)
        copies.append(tuple(image.resize(size, RESAMPLE_FILTERS[index]) for image in (real, fake)))
    return copies


def resample(image: Image.Image, down: float, up: float, method: Image.Resampling, crop: int) -> Image.Image:
    """The image scaled down by `down`, then up by `up` (raised where needed)."""
    small = tuple(max(1, round(side * down)) for side in image.size)
    # the short side must come back to at least the crop (or to where it was, if it was
    # shorter), so crops never need more padding than the original image did
    up = max(up, min(crop, *image.size) / min(small))
    return image.resize(small, method).resize(tuple(round(side * up) for side in small), method)


def _draw_geometry(config: AugmentConfig, rng: np.random.Generator) -> Geometry:
    resample_draw = None
    if rng.random() < config.resample_probability:
        method = RESAMPLE_FILTERS[int(rng.integers(len(RESAMPLE_FILTERS)))]
        resample_draw = (rng.uniform(*config.resample_down), rng.uniform(*config.resample_up), method)
    crop_at = (float(rng.random()), float(rng.random()))
    flips = (bool(rng.random() < config.hflip_probability), bool(rng.random() < config.vflip_probability))
    return Geometry(resample_draw, crop_at, flips)


def _draw_look(config: AugmentConfig, rng: np.random.Generator) -> Look:
    quality = sigma = jitter = None
    if rng.random() < config.jpeg_probability:
        quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    if rng.random() < config.blur_probability:
        sigma = float(rng.uniform(*config.blur_sigma))
    if rng.random() < config.jitter_probability:
        jitter = tuple(float(rng.uniform(1 - config.jitter_strength, 1 + config.jitter_strength)) for _ in range(3))
    return Look(quality, sigma, jitter)


def _transform(image: Image.Image, geometry: Geometry, look: Look, crop: int) -> np.ndarray:
    if geometry.resample is not None:
        image = resample(image, *geometry.resample, crop)
    if look.jpeg_quality is not None:
        image, _ = jpeg(image, look.jpeg_quality)
    if look.blur_sigma is not None:
        image = image.filter(ImageFilter.GaussianBlur(radius=look.blur_sigma))
    pixels = pad_to_crop(np.asarray(image), crop)
    y, x = (int(share * (side - crop + 1)) for share, side in zip(geometry.crop_at, pixels.shape[:2]))
    pixels = pixels[y : y + crop, x : x + crop]
    if geometry.flips[0]:
        pixels = pixels[:, ::-1]
    if geometry.flips[1]:
        pixels = pixels[::-1]
    pixels = np.ascontiguousarray(pixels)
    if look.jitter is None:
        return pixels
    jittered = Image.fromarray(pixels)
    for enhancer, factor in zip((ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color), look.jitter):
        jittered = enhancer(jittered).enhance(factor)
    return np.asarray(jittered)
