from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aligngemini.pixel.augment import augment_pair, resample_pair

PAIRED_ONLY = {"resample_probability": 1.0, "jpeg_probability": 0.0, "blur_probability": 0.0, "jitter_probability": 0.0}
PER_IMAGE_ONLY = {"resample_probability": 0.0, "jpeg_probability": 1.0, "jpeg_quality": [30, 100], "blur_probability": 0.5, "blur_sigma": [0.5, 2.0], "jitter_probability": 1.0}


def photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_paired_steps_are_identical_for_both_members(make_config):
    # with the same picture on both sides, any difference would come from unpaired draws
    config = make_config(augment=PAIRED_ONLY).augment
    image = photo()
    for seed in range(20):
        real, fake = augment_pair(image, image.copy(), config, 32, np.random.default_rng(seed))
        assert real.shape == (32, 32, 3) and np.array_equal(real, fake)


def test_crop_position_is_shared_when_the_images_differ(make_config):
    # fake = real shifted in value: a shared crop keeps the difference constant everywhere
    config = make_config(augment={**PAIRED_ONLY, "resample_probability": 0.0}).augment
    base = np.asarray(photo()) // 2
    real, fake = Image.fromarray(base), Image.fromarray(base + 50)
    for seed in range(20):
        real_crop, fake_crop = augment_pair(real, fake, config, 24, np.random.default_rng(seed))
        assert np.all(fake_crop.astype(int) - real_crop == 50)


def test_per_image_steps_are_drawn_per_image(make_config):
    config = make_config(augment=PER_IMAGE_ONLY).augment
    image = photo()
    differing = sum(
        not np.array_equal(*augment_pair(image, image.copy(), config, 32, np.random.default_rng(seed)))
        for seed in range(10)
    )  # fmt: skip
    assert differing == 10


def test_same_draws_give_the_same_crops(make_config):
    config = make_config().augment
    first = augment_pair(photo(), photo(seed=1), config, 32, np.random.default_rng(7))
    second = augment_pair(photo(), photo(seed=1), config, 32, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_resampling_keeps_room_for_a_crop(make_config):
    config = make_config(augment={"resample_down": [0.2, 0.2], "resample_up": [1.0, 1.0]}).augment
    real, fake = resample_pair(photo(50, 40), photo(50, 40, seed=1), config, 32, np.random.default_rng(0))
    assert real.size == fake.size and min(real.size) >= 32


def test_small_images_are_padded_to_the_crop(make_config):
    config = make_config(augment=PAIRED_ONLY).augment
    real, fake = augment_pair(photo(28, 20), photo(28, 20, seed=1), config, 32, np.random.default_rng(0))
    assert real.shape == fake.shape == (32, 32, 3)


def test_pair_members_must_share_a_size(make_config):
    with pytest.raises(ValueError, match="one size"):
        augment_pair(photo(64, 48), photo(48, 64), make_config().augment, 32, np.random.default_rng(0))
