"""Crop geometry shared by training and inference: images are cropped at native
resolution, never resized as a whole, so the decoder's pixel traces survive.

Rule for images smaller than the crop: a side below the crop size (but at least
`inference.min_side`, which the config keeps above half the crop) is reflect-padded,
split evenly with the extra pixel at the bottom/right; reflection continues the image's
own texture, where a constant border would be an edge no real or fake image has.
"""

from __future__ import annotations

import numpy as np


def pad_to_crop(pixels: np.ndarray, crop: int) -> np.ndarray:
    """`(H, W, C)` pixels reflect-padded so both sides are at least `crop`."""
    height, width = pixels.shape[:2]
    pad_h, pad_w = max(0, crop - height), max(0, crop - width)
    if not pad_h and not pad_w:
        return pixels
    return np.pad(pixels, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)), mode="reflect")


def axis_offsets(side: int, crop: int, grid: int) -> list[int]:
    """Offsets along one axis of length `side` (>= crop): as many crops as it takes to
    cover the axis, at most `grid`, evenly spaced from one edge to the other."""
    count = min(grid, -(-side // crop))
    if count == 1:
        return [(side - crop) // 2]
    return sorted({round(i * (side - crop) / (count - 1)) for i in range(count)})


def crop_boxes(height: int, width: int, crop: int, grid: int) -> list[tuple[int, int]]:
    """Top-left corners `(y, x)` of the multi-crop rule on a `height` x `width` image (both
    >= crop): the centre crop, plus the grid of `axis_offsets` along each axis, without
    repeats. A 128 px tile with 96 px crops gets the centre and the four corners; an
    image of exactly the crop size gets one crop."""
    centre = ((height - crop) // 2, (width - crop) // 2)
    grid_boxes = [(y, x) for y in axis_offsets(height, crop, grid) for x in axis_offsets(width, crop, grid)]
    return [centre, *(box for box in grid_boxes if box != centre)]
