"""Alignment transforms: exact transform strings, sizes, determinism; seeded per-sample draws."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from PIL import Image

from aligngemini.datasets.align import (
    apply_steps,
    jpeg,
    parse_reconstruction_transform,
    reconstruction_transform,
    resample,
    resize,
    sample_rng,
    seeded_key,
)


@pytest.fixture(scope="module")
def image() -> Image.Image:
    rng = np.random.default_rng(0)
    coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    return coarse.resize((128, 96), Image.Resampling.BICUBIC)


def _error(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def test_jpeg_returns_the_decoded_image_and_its_quality(image):
    high, transform = jpeg(image, 95)
    low, _ = jpeg(image, 10)
    assert transform == "jpeg(q=95)"
    assert (high.size, high.mode) == (image.size, "RGB")
    assert 0 < _error(image, high) < _error(image, low)
    assert jpeg(image, 95)[0].tobytes() == high.tobytes()


@pytest.mark.parametrize("quality", [0, 101])
def test_jpeg_refuses_qualities_outside_1_to_100(image, quality):
    with pytest.raises(ValueError, match="quality"):
        jpeg(image, quality)


@pytest.mark.parametrize(
    ("size", "down", "up", "expected_size", "expected_transform"),
    [
        ((128, 96), 0.5, 1.5, (96, 72), "resample(down=0.500,up=1.500)"),
        ((128, 96), 1.0, 1.0, (128, 96), "resample(down=1.000,up=1.000)"),
        # factors are rounded to 3 decimals before use: 128*0.123=15.74 -> 16, *2 -> 32
        ((128, 128), 0.12345, 2.0, (32, 32), "resample(down=0.123,up=2.000)"),
        # never below 8 px: 16*0.2=3.2 -> 8, then 8*1.2=9.6 -> 10
        ((16, 16), 0.2, 1.2, (10, 10), "resample(down=0.200,up=1.200)"),
    ],
)
def test_resample_sizes_and_transform(size, down, up, expected_size, expected_transform):
    result, transform = resample(Image.new("RGB", size, "gray"), down, up)
    assert result.size == expected_size
    assert transform == expected_transform


def test_resample_is_deterministic_and_changes_pixels(image):
    first, _ = resample(image, 0.6, 1.7)
    second, _ = resample(image, 0.6, 1.7)
    assert first.tobytes() == second.tobytes()
    back = first.resize(image.size, Image.Resampling.BICUBIC)
    assert _error(back, image) > 0


def test_resize_is_square_with_the_resample_filter(image):
    result, transform = resize(image, 64)
    assert (result.size, transform) == ((64, 64), "resize(64)")
    assert result.tobytes() == image.resize((64, 64), Image.Resampling.BICUBIC).tobytes()


def test_reconstruction_transform_round_trips():
    assert reconstruction_transform("recon-vae", None) == "vae(recon-vae)"
    assert reconstruction_transform("recon-vae", 64) == "resize(64)+vae(recon-vae)"
    assert parse_reconstruction_transform("vae(recon-vae)") == ("recon-vae", None)
    assert parse_reconstruction_transform("resize(64)+vae(recon-vae)") == ("recon-vae", 64)
    # another precision, other bytes: the dtype is part of the identity, not of the name
    assert reconstruction_transform("recon-vae", 336, "bfloat16") == "resize(336)+vae(recon-vae,bfloat16)"
    assert parse_reconstruction_transform("vae(recon-vae,bfloat16)") == ("recon-vae", None)
    assert reconstruction_transform("recon-vae", None, "float32") == "vae(recon-vae)"
    for other in (None, "tile(x=0,y=0,size=128)", "jpeg(q=90)+vae(recon-vae)", "vae()", "vae(recon-vae,int8)"):
        assert parse_reconstruction_transform(other) is None
    with pytest.raises(ValueError, match="reconstructor name"):
        reconstruction_transform("a+b", None)


def test_apply_steps_chains_transforms_in_order(image):
    assert apply_steps(image, []) is None
    result, transform = apply_steps(image, [partial(jpeg, quality=80), partial(resample, down=0.5, up=1.0)])
    by_hand, _ = resample(jpeg(image, 80)[0], 0.5, 1.0)
    assert transform == "jpeg(q=80)+resample(down=0.500,up=1.000)"
    assert result.tobytes() == by_hand.tobytes()


def test_sample_rng_depends_on_seed_and_key_only():
    draws = [sample_rng(7, "pixel", "abc").random() for _ in range(2)]
    assert draws[0] == draws[1]
    assert sample_rng(7, "pixel", "abd").random() != draws[0]
    assert sample_rng(8, "pixel", "abc").random() != draws[0]
    assert seeded_key(7, "a") == seeded_key(7, "a") != seeded_key(7, "b")
    assert len(seeded_key(7, "a")) == 64
