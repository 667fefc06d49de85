"""Sharpness matching of a pixel pair: small decoders return smoother images than the photos
they reconstruct, so mean |Laplacian| alone would tell real from fake (the shortcut check of
`shortcuts` measures it). The sharper member of a pair is blurred, just enough for its
sharpness to meet the other's, so what is left between them is the decoder's traces rather
than its loss of detail."""

from __future__ import annotations

import numpy as np
from PIL import Image

from aligngemini.datasets.align import blur
from aligngemini.datasets.shortcuts import sharpness

MAX_SIGMA = 3.0
_STEPS = 12  # bisection steps: the sigma is then known to about 1e-3


def _sharpness(image: Image.Image) -> float:
    return sharpness(np.asarray(image.convert("RGB"), dtype=np.float64))


def matching_sigma(sharper: Image.Image, target: float) -> float:
    """The blur sigma (at most `MAX_SIGMA`) that brings `sharper`'s sharpness down to `target`."""
    low, high = 0.0, MAX_SIGMA
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if _sharpness(blur(sharper, middle)[0]) > target:
            low = middle
        else:
            high = middle
    return high


def sharpness_match(real: Image.Image, fake: Image.Image, tolerance: float) -> tuple[str, float] | None:
    """Which member to blur ("real" or "fake") and by which sigma, or None when their
    sharpness already agrees within the relative `tolerance`."""
    s_real, s_fake = _sharpness(real), _sharpness(fake)
    if max(s_real, s_fake) <= (1 + tolerance) * min(s_real, s_fake):
        return None
    if s_real > s_fake:
        return "real", matching_sigma(real, s_fake)
    return "fake", matching_sigma(fake, s_real)
