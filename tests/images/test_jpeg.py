from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aligngemini.images.jpeg import estimate_jpeg_quality


def _noise(mode: str) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("quality", [10, 30, 50, 55, 75, 90, 95, 100])
def test_quality_of_libjpeg_files_is_exact(mode, quality):
    buffer = io.BytesIO()
    _noise(mode).save(buffer, format="JPEG", quality=quality)
    with Image.open(buffer) as image:
        assert estimate_jpeg_quality(image.quantization) == quality


def test_no_tables_gives_none():
    assert estimate_jpeg_quality({}) is None
    assert estimate_jpeg_quality({0: [1, 2, 3]}) is None
