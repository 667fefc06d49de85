"""Alignment transforms (DDA-style) and the seeded draws that choose them.

Every transform takes an image and returns the new image with a transform string that
says exactly what was applied, so the string alone reproduces the result:

- `jpeg(image, q)` -> `"jpeg(q=90)"`: JPEG at quality q (4:2:0 chroma subsampling, libjpeg's
  and Pillow's default, no optimisation, no metadata), decoded back to RGB;
- `resample(image, down, up)` -> `"resample(down=0.734,up=1.520)"`: scale by `down`, then
  scale the result by `up`, both with `RESAMPLE_FILTER` (bicubic); each size is rounded half
  up and kept at least `MIN_SIDE` pixels. Factors are rounded to 3 decimals first, so the
  string is exact;
- `resize(image, size)` -> `"resize(64)"`: a `size` x `size` resize with the same filter
  (inputs are square tiles and square generations, so nothing is distorted);
- `blur(image, sigma)` -> `"blur(s=0.734)"`: a Gaussian blur of standard deviation sigma
  pixels (rounded to 3 decimals first).

Transforms applied one after another are joined with `+` in order, e.g.
`"jpeg(q=85)+resample(down=0.500,up=1.250)"`; reconstructions are named the same way by
`reconstruction_transform` (`"resize(64)+vae(recon-vae)"`).

Draws are seeded per sample: `sample_rng(seed, *key)` derives a `random.Random` from the
dataset seed and the sample's identity (e.g. its sha256), so what a sample gets never
depends on which samples are processed before it, or in what order.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
from collections.abc import Callable, Sequence

from PIL import Image, ImageFilter

RESAMPLE_FILTER = Image.Resampling.BICUBIC
MIN_SIDE = 8
JPEG_SUBSAMPLING = 2  # Pillow's code for 4:2:0
FACTOR_DECIMALS = 3
STEP_SEPARATOR = "+"
Step = Callable[[Image.Image], tuple[Image.Image, str]]  # a transform with its arguments bound
_RECONSTRUCTION = re.compile(r"(?:resize\((?P<size>\d+)\)\+)?vae\((?P<name>[^(),]+)(?:,(?P<dtype>bfloat16|float16))?\)")


def seeded_key(seed: int, *parts: str) -> str:
    """A hex digest of the seed and `parts`: sorting by it gives a seeded order that does not
    depend on the order things arrive in."""
    return hashlib.sha256(":".join((str(seed), *parts)).encode()).hexdigest()


def sample_rng(seed: int, *key: str) -> random.Random:
    """The private random stream of one sample, e.g. `sample_rng(seed, "pixel", sha256)`."""
    return random.Random(int(seeded_key(seed, *key), 16))


def chain(*steps: str) -> str:
    """Transform strings applied in order, joined into one."""
    return STEP_SEPARATOR.join(steps)


def apply_steps(image: Image.Image, steps: Sequence[Step]) -> tuple[Image.Image, str] | None:
    """The image after `steps`, in order, with their chained transform; None without steps."""
    if not steps:
        return None
    transforms = []
    for step in steps:
        image, transform = step(image)
        transforms.append(transform)
    return image, chain(*transforms)


def jpeg(image: Image.Image, quality: int) -> tuple[Image.Image, str]:
    """The image as decoded after JPEG compression at `quality` (1..100)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be within 1..100, got {quality}")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, subsampling=JPEG_SUBSAMPLING, optimize=False)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB"), f"jpeg(q={quality})"


def resample(image: Image.Image, down: float, up: float) -> tuple[Image.Image, str]:
    """Scale by `down`, then by `up` (factors rounded to 3 decimals)."""
    down, up = round(down, FACTOR_DECIMALS), round(up, FACTOR_DECIMALS)
    if down <= 0 or up <= 0:
        raise ValueError(f"resample factors must be positive, got down={down}, up={up}")
    small = _scaled(image.size, down)
    result = image.resize(small, RESAMPLE_FILTER).resize(_scaled(small, up), RESAMPLE_FILTER)
    return result, f"resample(down={down:.{FACTOR_DECIMALS}f},up={up:.{FACTOR_DECIMALS}f})"


def resample_reach(side: int, down: tuple[float, float], up: tuple[float, float]) -> tuple[int, int]:
    """The smallest and largest side `resample` can make of a `side` px image with factors
    drawn from the `down` and `up` ranges (the same rounding)."""
    low = _scaled(_scaled((side, side), round(down[0], FACTOR_DECIMALS)), round(up[0], FACTOR_DECIMALS))
    high = _scaled(_scaled((side, side), round(down[1], FACTOR_DECIMALS)), round(up[1], FACTOR_DECIMALS))
    return low[0], high[0]


def resize(image: Image.Image, size: int) -> tuple[Image.Image, str]:
    """A `size` x `size` copy, with the filter that `resample` uses."""
    if size < MIN_SIDE:
        raise ValueError(f"resize side must be at least {MIN_SIDE}, got {size}")
    return image.resize((size, size), RESAMPLE_FILTER), f"resize({size})"


def blur(image: Image.Image, sigma: float) -> tuple[Image.Image, str]:
    """A Gaussian blur of `sigma` pixels (Pillow's radius is the standard deviation)."""
    sigma = round(sigma, FACTOR_DECIMALS)
    if sigma <= 0:
        raise ValueError(f"blur sigma must be positive, got {sigma}")
    return image.filter(ImageFilter.GaussianBlur(radius=sigma)), f"blur(s={sigma:.{FACTOR_DECIMALS}f})"


def reconstruction_transform(name: str, resize: int | None, dtype: str = "float32") -> str:
    """The transform of a reconstruction by the reconstructor `name`: `"vae(name)"` at the
    source's native size, or `"resize(N)+vae(name)"` after `align.resize(image, N)`. A
    reconstruction made in another precision than float32 makes other bytes, so its dtype
    is part of its identity: `"vae(name,bfloat16)"`."""
    if not name or any(char in name for char in "()+,"):
        raise ValueError(f"reconstructor name {name!r} must be non-empty without '(', ')', '+' or ','")
    vae = f"vae({name})" if dtype == "float32" else f"vae({name},{dtype})"
    return vae if resize is None else chain(f"resize({resize})", vae)


def parse_reconstruction_transform(transform: str | None) -> tuple[str, int | None] | None:
    """`(name, resize)` of a `reconstruction_transform` string (of any dtype), or None for
    anything else."""
    match = _RECONSTRUCTION.fullmatch(transform or "")
    if match is None:
        return None
    size = match["size"]
    return match["name"], None if size is None else int(size)


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return tuple(max(MIN_SIDE, math.floor(side * factor + 0.5)) for side in size)
