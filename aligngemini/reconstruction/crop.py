"""Bringing an image to a size the VAE accepts, without resampling it."""

from __future__ import annotations

from PIL import Image


def crop_to_multiple(image: Image.Image, multiple: int = 8) -> Image.Image:
    """Crops width and height down to multiples of `multiple`, keeping the top-left corner
    and dropping the right and bottom remainder: the JPEG 8x8 grid of the source stays where
    it was, so the real image and its reconstruction share it (resizing would blur the real
    side; a centred crop would shift the grid). An image already of that size is returned
    as it is.

    Raises ValueError naming the size when a side is shorter than `multiple`."""
    width, height = image.size
    if width < multiple or height < multiple:
        raise ValueError(f"image size {width}x{height} has a side shorter than {multiple} pixels: nothing to keep")
    cropped = (width - width % multiple, height - height % multiple)
    return image if cropped == image.size else image.crop((0, 0, *cropped))
