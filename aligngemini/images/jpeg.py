"""JPEG quality estimation from quantisation tables.

The estimate is the IJG (libjpeg) quality 1..100 whose scaled standard tables are
closest (sum of absolute differences) to the file's tables. Files written by libjpeg,
Pillow, OpenCV and most software give their exact quality; cameras and editors that use
their own tables get the nearest IJG equivalent, which is what DDA-style JPEG alignment
needs (re-compress the fake at "the same" quality as its real partner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# IJG standard tables (libjpeg jcparam.c), natural (row-major) order, which is also the
# order of Pillow's `JpegImageFile.quantization`.
_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
])  # fmt: skip
_CHROMA = np.full((8, 8), 99)
_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
_CHROMA = _CHROMA.ravel()


def _scaled(table: np.ndarray) -> np.ndarray:
    """The table as libjpeg scales it for qualities 1..100 (one row per quality)."""
    quality = np.arange(1, 101)[:, None]
    scale = np.where(quality < 50, 5000 // quality, 200 - 2 * quality)
    return np.clip((table[None, :] * scale + 50) // 100, 1, 255)


_SCALED = (_scaled(_LUMA), _scaled(_CHROMA))


def estimate_jpeg_quality(quantization: Mapping[int, Sequence[int]]) -> int | None:
    """Estimated IJG quality (1..100) from Pillow's `quantization` dict, or None if the
    file has no usable tables. Uses the luminance table and, when present, the first
    chrominance table."""
    errors = np.zeros(100)
    used = 0
    for slot, scaled in zip((0, 1), _SCALED):
        table = quantization.get(slot)
        if table is None or len(table) != 64:
            continue
        errors += np.abs(scaled - np.asarray(table, dtype=np.int64)[None, :]).sum(axis=1)
        used += 1
    if not used:
        return None
    # Ties go to the highest quality: near q=100 several qualities give all-ones tables.
    best = np.flatnonzero(errors == errors.min())[-1]
    return int(best) + 1
