"""Reconstructions R(x) through a generator's autoencoder: the fake side of the
pixel-artifact dataset, identical to the real image in content, different only in the
decoder's pixel traces.

An autoencoder is loaded with its kind's diffusers class (`autoencoders.AUTOENCODERS`:
`AutoencoderKL`, `VQModel`, `AutoencoderTiny`, `AutoencoderDC`) and `from_pretrained`, from a
local directory built by the bootstrap stage (embedded profile) or a hub id (full profile):
one code path."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from aligngemini.config_base import DType
from aligngemini.devices import resolve_device, torch_dtype
from aligngemini.errors import AlignGeminiError
from aligngemini.generation.pipelines import resolve_model
from aligngemini.reconstruction.autoencoders import AUTOENCODERS, AutoencoderKind

if TYPE_CHECKING:
    from aligngemini.config import ReconstructorEntry

# SD-family VAEs downsample 8x; sides that are multiples of 8 also keep the JPEG 8x8 grid
# of the real image aligned with its reconstruction.
SIDE_MULTIPLE = 8


class VAELoadError(AlignGeminiError):
    """The reconstruction VAE cannot be loaded (missing directory, hub id not available)."""


_cache: dict[tuple[str, str | None, str | None, str, str, str], torch.nn.Module] = {}
_cache_lock = threading.Lock()


def load_vae(
    model: str, subfolder: str | None, project_root: Path, kind: str, *, device: str, dtype: DType, revision: str | None = None
) -> torch.nn.Module:
    """The autoencoder of registered `kind` at `model` (a directory relative to
    `project_root` if one exists, else a hub id such as "stabilityai/stable-diffusion-2-1"
    with subfolder "vae", at hub commit `revision` if given), in eval mode, in `dtype` on `device` (resolved by
    `aligngemini.devices`). Loaded once per process and shared by every reconstruction task
    of the run."""
    model_class = AUTOENCODERS.get(kind).model_class
    source = resolve_model(model, project_root)
    place = resolve_device(device)
    key = (source, subfolder, revision, kind, str(place), dtype)
    with _cache_lock:
        if key not in _cache:
            try:
                vae = model_class.from_pretrained(source, subfolder=subfolder, revision=revision, dtype=torch_dtype(dtype))
            except (OSError, ValueError) as exc:
                where = f"'{model}'" + (f" (subfolder '{subfolder}')" if subfolder else "")
                raise VAELoadError(f"cannot load the reconstruction autoencoder {where} as {model_class.__name__}: {exc}") from exc
            _cache[key] = vae.to(place).eval()
        return _cache[key]


def load_reconstructor(entry: ReconstructorEntry, project_root: Path, *, device: str, dtype: DType) -> torch.nn.Module:
    """The autoencoder of a reconstructor registry entry (`load_vae` with its model,
    subfolder, kind and revision)."""
    return load_vae(entry.model, entry.subfolder, project_root, entry.kind, device=device, dtype=dtype, revision=entry.revision)


def kind_of(vae: torch.nn.Module) -> AutoencoderKind:
    """The registered kind of a loaded autoencoder, by its class."""
    for name in AUTOENCODERS.names():
        if type(vae) is AUTOENCODERS.get(name).model_class:
            return AUTOENCODERS.get(name)
    raise VAELoadError(f"{type(vae).__name__} is no registered autoencoder kind (registered: {', '.join(AUTOENCODERS.names())})")


def clear_vae_cache() -> None:
    """Forget loaded VAEs (a benchmark times a cold load; a rebuilt model must be reread)."""
    with _cache_lock:
        _cache.clear()


def image_seed(base_seed: int, sha256: str) -> int:
    """The latent-sample seed of one image: from its content hash, so it does not depend on
    the batch, the order of the run or the other images, and a resumed run reproduces it."""
    digest = hashlib.sha256(f"{base_seed}\0{sha256}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _check_inputs(images: Sequence[Image.Image], seeds: Sequence[int], batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if len(images) != len(seeds):
        raise ValueError(f"need one seed per image, got {len(images)} images and {len(seeds)} seeds")
    sizes = {image.size for image in images}
    if len(sizes) > 1:
        raise ValueError(f"images of one call must share a size, got {sorted(sizes)}")
    for image in images:
        if image.mode != "RGB":
            raise ValueError(f"images must be RGB, got mode {image.mode}")
    for width, height in sizes:
        if width % SIDE_MULTIPLE or height % SIDE_MULTIPLE:
            raise ValueError(
                f"image size {width}x{height} is not a multiple of {SIDE_MULTIPLE}: crop it first (crop_to_multiple)"
            )


def _to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    pixels = np.stack([np.asarray(image, dtype=np.uint8) for image in images])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _to_images(decoded: torch.Tensor) -> list[Image.Image]:
    pixels = ((decoded.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(array) for array in pixels.permute(0, 2, 3, 1).cpu().numpy()]


def reconstruct(vae: torch.nn.Module, images: Sequence[Image.Image], seeds: Sequence[int], batch_size: int) -> list[Image.Image]:
    """R(x) for each image: encode, decode, as the autoencoder's kind does it (a KL latent is
    sampled with the image's own seed).

    Images go through the VAE `batch_size` at a time; the last call is padded by repeating
    its last image, so every call has the same tensor shapes and an image's bytes never
    depend on which images shared its batch. Outputs are uint8 RGB of the input size."""
    _check_inputs(images, seeds, batch_size)
    roundtrip = kind_of(vae).roundtrip
    outputs: list[Image.Image] = []
    for start in range(0, len(images), batch_size):
        chunk, chunk_seeds = list(images[start : start + batch_size]), list(seeds[start : start + batch_size])
        pad = batch_size - len(chunk)
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in chunk_seeds + [chunk_seeds[-1]] * pad]
        pixels = _to_tensor(chunk + [chunk[-1]] * pad).to(device=vae.device, dtype=vae.dtype)
        with torch.inference_mode():
            decoded = roundtrip(vae, pixels, generators)
        outputs.extend(_to_images(decoded[: len(chunk)]))
    return outputs
