from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from aligngemini.errors import ImageTooSmallError
from aligngemini.pixel.crops import crop_boxes, pad_to_crop
from aligngemini.pixel.infer import image_crops, p_fake, predict_logits
from aligngemini.pixel.model import build_expert


@pytest.fixture(scope="module")
def config(make_config):
    return make_config(inference={"grid": 3, "min_side": 20, "batch_size": 7})


@pytest.fixture(scope="module")
def expert(config):
    torch.manual_seed(0)
    return build_expert(config, pretrained=False).eval()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_tile_gets_centre_and_corners():
    assert crop_boxes(128, 128, 96, grid=3) == [(16, 16), (0, 0), (0, 32), (32, 0), (32, 32)]
    assert crop_boxes(96, 96, 96, grid=3) == [(0, 0)]


@pytest.mark.parametrize("height,width", [(97, 131), (33, 250), (301, 45), (32, 32)])
def test_boxes_cover_odd_non_square_images(height, width):
    boxes = crop_boxes(height, width, 32, grid=10)  # enough to cover 301 px
    covered = np.zeros((height, width), bool)
    for y, x in boxes:
        assert 0 <= y <= height - 32 and 0 <= x <= width - 32
        covered[y : y + 32, x : x + 32] = True
    assert covered.all() and len(set(boxes)) == len(boxes)
    assert boxes[0] == ((height - 32) // 2, (width - 32) // 2)


def test_grid_caps_the_crops_of_large_images():
    assert len(crop_boxes(1000, 700, 32, grid=3)) <= 10


def test_padding_reflects_and_centres():
    pixels = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    padded = pad_to_crop(pixels, 32)
    assert padded.shape == (32, 32, 3)
    assert np.array_equal(padded[6:26, 1:31], pixels)  # 12 rows split 6/6, 2 columns 1/1
    assert np.array_equal(padded[5, 1:31], pixels[1])  # reflected, not repeated


def test_p_fake_of_odd_non_square_images_averages_crop_logits(expert, config):
    images = [noise(97, 131), noise(45, 33, 1), noise(32, 32, 2), noise(128, 64, 3)]
    probabilities = p_fake(expert, images, config.inference)
    assert probabilities.shape == (4,) and np.all((probabilities > 0) & (probabilities < 1))
    with torch.inference_mode():
        expected = [expert(image_crops(image, 32, config.inference)).mean().item() for image in images]
    assert np.allclose(predict_logits(expert, images, config.inference), expected, atol=1e-5)


def test_results_do_not_depend_on_batching(expert, config):
    images = [noise(40 + 9 * i, 70 - 5 * i, i) for i in range(5)]
    one_by_one = predict_logits(expert, images, config.inference.model_copy(update={"batch_size": 1}))
    batched = predict_logits(expert, iter(images), config.inference)
    assert np.allclose(one_by_one, batched, atol=1e-5)


def test_small_images_are_padded_and_too_small_ones_refused(expert, config):
    assert p_fake(expert, [noise(20, 31)], config.inference).shape == (1,)
    with pytest.raises(ImageTooSmallError, match="photo.png: too_small: 19x40 has a side below the pixel expert's minimum of 20 px"):
        p_fake(expert, [noise(32, 32), noise(19, 40)], config.inference, names=["ok.png", "photo.png"])


def test_no_images_no_probabilities(expert, config):
    assert p_fake(expert, [], config.inference).shape == (0,)


def test_placed_in_bfloat16_the_expert_scores_close_to_float32(config):
    torch.manual_seed(0)
    placed = build_expert(config, pretrained=False).eval()
    images = [noise(40, 40, seed) for seed in range(3)]
    reference = predict_logits(placed, images, config.inference)
    placed.place("cpu", "bfloat16")
    low = predict_logits(placed, images, config.inference)
    assert low.dtype == np.float32 and not np.array_equal(low, reference)
    np.testing.assert_allclose(low, reference, atol=0.1)
