"""Loading the reconstruction VAE and reconstructing through it: sizes, determinism, batch
independence, and clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL
from PIL import Image

from aligngemini.reconstruction import VAELoadError, clear_vae_cache, image_seed, load_vae, reconstruct

SIZE = (24, 16)  # width, height: multiples of 8, not square


def _images(count: int, size: tuple[int, int] = SIZE) -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(count)]


def _bytes(images: list[Image.Image]) -> list[bytes]:
    return [image.tobytes() for image in images]


def test_keeps_size_and_mode(tiny_vae: AutoencoderKL) -> None:
    outputs = reconstruct(tiny_vae, _images(3), [1, 2, 3], batch_size=2)
    assert [(o.size, o.mode) for o in outputs] == [(SIZE, "RGB")] * 3


def test_is_deterministic(tiny_vae: AutoencoderKL) -> None:
    images = _images(3)
    assert _bytes(reconstruct(tiny_vae, images, [1, 2, 3], 4)) == _bytes(reconstruct(tiny_vae, images, [1, 2, 3], 4))


@pytest.fixture
def two_threads() -> Iterator[None]:
    """With several threads the CPU kernels split work by tensor shape: where a batch of
    another size would round differently, padding is what keeps the bytes equal."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("two_threads")
def test_an_image_does_not_depend_on_its_batch(tiny_vae: AutoencoderKL) -> None:
    images = _images(5, size=(32, 32))
    alone = reconstruct(tiny_vae, images[2:3], [7], batch_size=4)
    together = reconstruct(tiny_vae, images, [5, 6, 7, 8, 9], batch_size=4)
    shifted = reconstruct(tiny_vae, images[::-1], [9, 8, 7, 6, 5], batch_size=4)
    assert _bytes(alone) == _bytes(together[2:3]) == _bytes(shifted[2:3])


def test_the_seed_draws_the_latent_sample(tiny_vae: AutoencoderKL) -> None:
    image = _images(1)
    assert _bytes(reconstruct(tiny_vae, image, [1], 1)) != _bytes(reconstruct(tiny_vae, image, [2], 1))


def test_refuses_sides_that_are_not_multiples_of_8(tiny_vae: AutoencoderKL) -> None:
    with pytest.raises(ValueError, match=r"20x16 is not a multiple of 8.*crop_to_multiple"):
        reconstruct(tiny_vae, _images(1, size=(20, 16)), [0], 1)


@pytest.mark.parametrize(
    ("images", "seeds", "message"),
    [
        (_images(1) + _images(1, size=(16, 16)), [0, 1], "share a size"),
        (_images(2), [0], "one seed per image"),
        ([_images(1)[0].convert("L")], [0], "RGB"),
    ],
)
def test_refuses_bad_calls(tiny_vae: AutoencoderKL, images: list[Image.Image], seeds: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reconstruct(tiny_vae, images, seeds, 2)


def test_image_seed_is_stable_and_content_keyed() -> None:
    sha_a, sha_b = "a" * 64, "b" * 64
    assert image_seed(0, sha_a) == image_seed(0, sha_a)
    assert len({image_seed(0, sha_a), image_seed(0, sha_b), image_seed(1, sha_a)}) == 3
    assert 0 <= image_seed(0, sha_a) < 2**31


def test_loads_a_local_directory_once(tiny_vae: AutoencoderKL, tmp_path: Path) -> None:
    tiny_vae.save_pretrained(tmp_path / "models" / "vae")
    clear_vae_cache()
    vae = load_vae("models/vae", None, tmp_path, "autoencoder_kl", device="cpu", dtype="float32")
    assert not vae.training
    assert load_vae("models/vae", None, tmp_path, "autoencoder_kl", device="cpu", dtype="float32") is vae
    images = _images(2)
    assert _bytes(reconstruct(vae, images, [1, 2], 2)) == _bytes(reconstruct(tiny_vae, images, [1, 2], 2))
    clear_vae_cache()
    assert load_vae("models/vae", None, tmp_path, "autoencoder_kl", device="cpu", dtype="float32") is not vae


def test_loads_from_a_subfolder(tiny_vae: AutoencoderKL, tmp_path: Path) -> None:
    tiny_vae.save_pretrained(tmp_path / "whole" / "vae")
    vae = load_vae("whole", "vae", tmp_path, "autoencoder_kl", device="cpu", dtype="float32")
    assert vae.config.block_out_channels == list(tiny_vae.config.block_out_channels)


def test_a_hub_id_that_is_not_available_offline_names_the_model(tmp_path: Path) -> None:
    with pytest.raises(VAELoadError, match="no-such-org/no-such-vae.*subfolder 'vae'"):
        load_vae("no-such-org/no-such-vae", "vae", tmp_path, "autoencoder_kl", device="cpu", dtype="float32")


def test_a_directory_without_a_vae_names_the_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(VAELoadError, match="'empty'"):
        load_vae("empty", None, tmp_path, "autoencoder_kl", device="cpu", dtype="float32")
