"""The crop rule for sizes that are not multiples of 8: keep the top-left corner."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aligngemini.reconstruction import crop_to_multiple


def _noise_image(width: int, height: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_drops_the_right_and_bottom_remainder() -> None:
    image = _noise_image(130, 97)
    cropped = crop_to_multiple(image)
    assert cropped.size == (128, 96)
    assert cropped.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(cropped), np.asarray(image)[:96, :128])


def test_other_multiples() -> None:
    assert crop_to_multiple(_noise_image(37, 40), multiple=16).size == (32, 32)


def test_a_size_that_fits_is_kept_as_it_is() -> None:
    image = _noise_image(64, 24)
    assert crop_to_multiple(image) is image


@pytest.mark.parametrize("size", [(7, 100), (100, 5)])
def test_a_side_below_the_multiple_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match=f"{size[0]}x{size[1]}"):
        crop_to_multiple(_noise_image(*size))
