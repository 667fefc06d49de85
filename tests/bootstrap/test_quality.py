"""The image-likeness measure: smooth images score low, noise scores near 1."""

from __future__ import annotations

import numpy as np
from skimage import data

from aligngemini.bootstrap.quality import smoothness_ratio


def test_a_photo_is_smooth() -> None:
    photo = data.astronaut()[:128, :128].astype(np.float32) / 255
    assert smoothness_ratio(photo) < 0.5


def test_a_gradient_is_very_smooth() -> None:
    ramp = np.linspace(0, 1, 64, dtype=np.float32)
    image = np.stack([np.tile(ramp, (64, 1))] * 3, axis=-1)
    assert smoothness_ratio(image) < 0.1


def test_noise_is_not_smooth() -> None:
    noise = np.random.default_rng(1).random((64, 64, 3))
    assert 0.9 < smoothness_ratio(noise) < 1.1


def test_a_flat_image_does_not_pass_as_smooth() -> None:
    assert smoothness_ratio(np.full((32, 32, 3), 0.5)) == 1.0


def test_the_permutation_is_seeded() -> None:
    image = np.random.default_rng(2).random((32, 32, 3)) ** 4
    assert smoothness_ratio(image, seed=3) == smoothness_ratio(image, seed=3)
