"""PSNR and the held-out score built on it."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from diffusers import AutoencoderKL
from PIL import Image

from aligngemini.reconstruction import heldout_psnr, image_seed, psnr, reconstruct

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(20, 236, (32, 32, 3), dtype=np.uint8)


def _noisy(sigma: float) -> np.ndarray:
    noise = np.random.default_rng(1).normal(0.0, sigma, IMAGE.shape)
    return np.clip(IMAGE + noise, 0, 255).round().astype(np.uint8)


def test_identical_arrays_give_infinity() -> None:
    assert psnr(IMAGE, IMAGE.copy()) == math.inf


def test_known_value() -> None:
    # an error of 1 everywhere: mse 1, so 20 log10(255)
    assert psnr(IMAGE, IMAGE + 1) == pytest.approx(48.1308, abs=1e-4)


def test_more_noise_scores_lower() -> None:
    slight, strong = psnr(IMAGE, _noisy(2.0)), psnr(IMAGE, _noisy(20.0))
    assert 35.0 < slight < 50.0
    assert 15.0 < strong < slight - 10.0
    assert psnr(_noisy(2.0), IMAGE) == slight


def test_refuses_mismatched_or_non_uint8_arrays() -> None:
    with pytest.raises(ValueError, match="shape"):
        psnr(IMAGE, IMAGE[:16])
    with pytest.raises(ValueError, match="uint8"):
        psnr(IMAGE, IMAGE.astype(np.float32))


def test_heldout_psnr_is_the_mean_over_tiles_whatever_the_order(tiny_vae: AutoencoderKL) -> None:
    tiles = [RNG.integers(0, 256, (16, 24, 3), dtype=np.uint8) for _ in range(3)]
    seeds = [image_seed(5, hashlib.sha256(t.tobytes()).hexdigest()) for t in tiles]
    outputs = reconstruct(tiny_vae, [Image.fromarray(t) for t in tiles], seeds, batch_size=2)
    expected = np.mean([psnr(np.asarray(o), t) for o, t in zip(outputs, tiles)])
    assert heldout_psnr(tiny_vae, tiles, base_seed=5, batch_size=2) == pytest.approx(expected)
    assert heldout_psnr(tiny_vae, tiles[::-1], base_seed=5, batch_size=2) == pytest.approx(expected)
    assert heldout_psnr(tiny_vae, tiles, base_seed=6, batch_size=2) != pytest.approx(expected)


def test_heldout_psnr_needs_tiles(tiny_vae: AutoencoderKL) -> None:
    with pytest.raises(ValueError, match="no tiles"):
        heldout_psnr(tiny_vae, [], base_seed=0, batch_size=2)
