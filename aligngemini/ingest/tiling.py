"""Where to cut square tiles from a photo."""

from __future__ import annotations


def tile_boxes(width: int, height: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners `(x, y)` of every full `size` x `size` crop, row-major.

    Offsets are multiples of `stride` from the top-left corner, so with a stride that is
    a multiple of 8 every tile keeps the photo's JPEG 8x8 block grid. Only full crops are
    returned: the right and bottom margins narrower than a tile are dropped, and an image
    smaller than one tile in either direction gives no tiles.
    """
    if size <= 0 or stride <= 0:
        raise ValueError(f"tile size and stride must be positive, got size={size}, stride={stride}")
    return [(x, y) for y in range(0, height - size + 1, stride) for x in range(0, width - size + 1, stride)]
