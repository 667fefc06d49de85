from __future__ import annotations

import pytest

from aligngemini.ingest.tiling import tile_boxes


@pytest.mark.parametrize(
    "width, height, size, stride, expected",
    [
        (512, 512, 128, 128, 16),
        (451, 300, 128, 128, 6),  # chelsea: margins narrower than a tile are dropped
        (256, 128, 128, 64, 3),
        (128, 128, 128, 128, 1),
        (127, 500, 128, 128, 0),  # smaller than one tile in one direction
        (100, 100, 128, 128, 0),
    ],
)
def test_counts(width, height, size, stride, expected):
    assert len(tile_boxes(width, height, size, stride)) == expected


def test_row_major_full_tiles_on_the_stride_grid():
    boxes = tile_boxes(300, 200, 64, 48)
    assert boxes == sorted(boxes, key=lambda box: (box[1], box[0]))
    assert boxes[:2] == [(0, 0), (48, 0)]
    assert all(x % 48 == 0 and y % 48 == 0 for x, y in boxes)
    assert all(x + 64 <= 300 and y + 64 <= 200 for x, y in boxes)
    assert len(boxes) == 5 * 3


@pytest.mark.parametrize("size, stride", [(0, 8), (8, 0), (-8, 8)])
def test_non_positive_size_or_stride_is_refused(size, stride):
    with pytest.raises(ValueError):
        tile_boxes(64, 64, size, stride)
