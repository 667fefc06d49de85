from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aligngemini.pixel.augment import augment_pair, mix_fake, resample, resized_copies

NO_PHOTOMETRY = {"jpeg_probability": 0.0, "blur_probability": 0.0, "jitter_probability": 0.0}
NO_MIXES = {"pixel_mix_probability": 0.0, "freq_mix_probability": 0.0}
PHOTOMETRY_ONLY = {
    **NO_MIXES, "resized_copies_probability": 0.0, "resample_probability": 0.0,
    "jpeg_probability": 1.0, "jpeg_quality": [30, 100], "blur_probability": 0.5, "blur_sigma": [0.5, 2.0],
    "jitter_probability": 1.0,
}  # fmt: skip


def photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def random_augment(rng: np.random.Generator) -> dict:
    """Any augmentation config: every probability 0, 1 or in between, ranges anywhere valid."""
    chance = lambda: float(rng.choice([0.0, 1.0, rng.random()]))  # noqa: E731
    ordered = lambda low, high: sorted(rng.uniform(low, high, 2).tolist())  # noqa: E731
    keys = ("pixel_mix", "freq_mix")
    return {
        "paired": True, "resized_copies_probability": chance(), "resample_probability": chance(),
        **{f"{key}_probability": chance() for key in keys}, **{f"{key}_max_ratio": float(rng.random()) for key in keys},
        "resample_down": ordered(0.2, 1.0), "resample_up": ordered(1.0, 3.5),
        "jpeg_probability": chance(), "jpeg_quality": sorted(rng.integers(1, 101, 2).tolist()),
        "blur_probability": chance(), "blur_sigma": ordered(0.0, 3.0),
        "hflip_probability": chance(), "vflip_probability": chance(),
        "jitter_probability": chance(), "jitter_strength": float(rng.uniform(0, 0.9)),
    }  # fmt: skip


def test_paired_draws_treat_both_members_alike_under_any_config(make_config):
    # with the same picture on both sides, any difference would come from unpaired draws
    image = photo()
    for seed in range(30):
        rng = np.random.default_rng(seed)
        config = make_config(augment=random_augment(rng)).augment
        crops = augment_pair(image, image.copy(), config, 32, rng)
        assert len(crops) in (1, 3)
        for real, fake in crops:
            assert real.shape == (32, 32, 3) and np.array_equal(real, fake)


def test_unpaired_draws_differ_per_image(make_config):
    image = photo()
    for paired, differing in ((True, 0), (False, 10)):
        config = make_config(augment={**PHOTOMETRY_ONLY, "paired": paired}).augment
        results = [augment_pair(image, image.copy(), config, 32, np.random.default_rng(seed))[0] for seed in range(10)]
        assert sum(not np.array_equal(real, fake) for real, fake in results) == differing


@pytest.mark.parametrize("paired", [True, False])
def test_crop_and_flips_are_shared_when_the_images_differ(make_config, paired):
    # fake = real shifted in value: a shared crop and flip keep the difference constant everywhere
    augment = {**NO_PHOTOMETRY, **NO_MIXES, "paired": paired, "resized_copies_probability": 0.0, "resample_probability": 0.0}
    config = make_config(augment=augment).augment
    base = np.asarray(photo()) // 2
    real, fake = Image.fromarray(base), Image.fromarray(base + 50)
    for seed in range(20):
        [(real_crop, fake_crop)] = augment_pair(real, fake, config, 24, np.random.default_rng(seed))
        assert np.all(fake_crop.astype(int) - real_crop == 50)


def test_resized_copies_follow_both_members(make_config):
    config = make_config(augment={**NO_MIXES, "resized_copies_probability": 1.0}).augment
    crops = augment_pair(photo(), photo(seed=1), config, 32, np.random.default_rng(0))
    assert len(crops) == 3 and all(real.shape == fake.shape == (32, 32, 3) for real, fake in crops)
    fixed = make_config(augment={"resample_down": [0.5, 0.5], "resample_up": [2.0, 2.0]}).augment
    copies = resized_copies(photo(), photo(seed=1), fixed, 32, np.random.default_rng(0))
    assert [(real.size, fake.size) for real, fake in copies] == [((32, 24), (32, 24)), ((128, 96), (128, 96))]
    same = resized_copies(photo(), photo(), fixed, 32, np.random.default_rng(0))
    assert all(np.array_equal(np.asarray(real), np.asarray(fake)) for real, fake in same)


def test_down_copies_stay_above_half_the_crop(make_config):
    config = make_config(augment={"resample_down": [0.2, 0.2]}).augment
    (real, fake), _ = resized_copies(photo(64, 48), photo(64, 48, seed=1), config, 32, np.random.default_rng(0))
    assert real.size == fake.size and min(real.size) == 17


def blend_weight(real: np.ndarray, fake: np.ndarray, mixed: np.ndarray) -> float:
    """The fake's weight w that best explains mixed = w * fake + (1 - w) * real."""
    difference = (fake - real).ravel()
    return float(difference @ (mixed - real).ravel() / (difference @ difference))


@pytest.mark.parametrize(("mix", "weights"), [("pixel_mix", (0.0, 0.8)), ("freq_mix", (0.2, 1.0))])
def test_mixes_blend_the_fake_with_its_real(make_config, mix, weights):
    config = make_config(augment={**NO_MIXES, f"{mix}_probability": 1.0, f"{mix}_max_ratio": 0.8}).augment
    real, fake = photo(), photo(seed=1)
    real_px, fake_px = (np.asarray(image).astype(float) for image in (real, fake))
    for seed in range(10):
        mixed = np.asarray(mix_fake(real, fake, config, np.random.default_rng(seed))).astype(float)
        assert np.all(np.minimum(real_px, fake_px) <= mixed) and np.all(mixed <= np.maximum(real_px, fake_px))
        weight = blend_weight(real_px, fake_px, mixed)
        assert weights[0] <= weight <= weights[1]
        # the whole-image DCT is linear: both mixes are pixel blends, up to rounding
        assert np.abs(mixed - (weight * fake_px + (1 - weight) * real_px)).max() <= 1


def test_same_draws_give_the_same_crops(make_config):
    augment = {"pixel_mix_probability": 0.5, "freq_mix_probability": 0.5, "resized_copies_probability": 1.0}
    config = make_config(augment=augment).augment
    first, second = (augment_pair(photo(), photo(seed=1), config, 32, np.random.default_rng(7)) for _ in range(2))
    assert len(first) == len(second) == 3
    assert all(np.array_equal(a, b) for pair_a, pair_b in zip(first, second) for a, b in zip(pair_a, pair_b))


def test_resampling_keeps_room_for_a_crop():
    image = resample(photo(50, 40), 0.2, 1.0, Image.Resampling.BICUBIC, 32)
    assert min(image.size) >= 32


def test_small_images_are_padded_to_the_crop(make_config):
    config = make_config(augment={"resample_probability": 1.0, "resized_copies_probability": 1.0}).augment
    crops = augment_pair(photo(28, 20), photo(28, 20, seed=1), config, 32, np.random.default_rng(0))
    assert all(real.shape == fake.shape == (32, 32, 3) for real, fake in crops)


def test_pair_members_must_share_a_size(make_config):
    with pytest.raises(ValueError, match="one size"):
        augment_pair(photo(64, 48), photo(48, 64), make_config().augment, 32, np.random.default_rng(0))
