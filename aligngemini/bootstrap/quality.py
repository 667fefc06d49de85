"""A cheap, model-free check that generated images look like images rather than noise."""

from __future__ import annotations

import numpy as np


def smoothness_ratio(image: np.ndarray, seed: int = 0) -> float:
    """Mean absolute horizontal neighbour difference of `image` (H x W x C floats in [0, 1]),
    divided by the same for a random permutation of its pixels. Photos are locally smooth
    (well below 1); noise, and any image whose neighbours are unrelated, is near 1."""
    image = np.asarray(image, dtype=np.float64)
    pixels = image.reshape(-1, *image.shape[2:])
    shuffled = np.random.default_rng(seed).permutation(pixels).reshape(image.shape)
    shuffled_diff = np.abs(np.diff(shuffled, axis=1)).mean()
    if shuffled_diff == 0.0:  # a flat image has no structure to compare
        return 1.0
    return float(np.abs(np.diff(image, axis=1)).mean() / shuffled_diff)
