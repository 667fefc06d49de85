"""The decoder families a reconstructor can be: each registered kind names the diffusers class
that loads it (`from_pretrained`, a local bootstrap directory or a hub id) and how one batch
goes through it. A reconstructor entry in params names its kind, so adding a family is adding
an entry here and a builder in `aligngemini.bootstrap`.

Every `roundtrip` takes pixels in [-1, 1], shape (n, 3, h, w), and one `torch.Generator` per
image (used by the kinds whose latent is a sample), and returns decoded pixels of that shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import AutoencoderDC, AutoencoderKL, AutoencoderTiny, VQModel

from aligngemini.registry import Registry

Roundtrip = Callable[[Any, torch.Tensor, Sequence[torch.Generator]], torch.Tensor]


@dataclass(frozen=True)
class AutoencoderKind:
    model_class: type
    roundtrip: Roundtrip
    description: str


AUTOENCODERS: Registry[AutoencoderKind] = Registry("autoencoder kind")


def _kl(vae: AutoencoderKL, pixels: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    # a latent *sample*, as DDA does: the mode would leave out the posterior noise that a
    # generator's latents carry
    return vae.decode(vae.encode(pixels).latent_dist.sample(generator=list(generators))).sample


def _vq(vae: VQModel, pixels: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    return vae.decode(vae.encode(pixels).latents).sample  # decode snaps the latent to the codebook


def _tiny(vae: AutoencoderTiny, pixels: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    # TAESD stores latents as bytes; rounding them the same way keeps what a user of it decodes
    latents = vae.unscale_latents(vae.scale_latents(vae.encode(pixels).latents).mul(255).round().div(255))
    return vae.decode(latents).sample


def _dc(vae: AutoencoderDC, pixels: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    return vae.decode(vae.encode(pixels).latent).sample


AUTOENCODERS.register("autoencoder_kl")(AutoencoderKind(AutoencoderKL, _kl, "KL-regularised VAE (Stable Diffusion, SDXL, FLUX): nearest-neighbour upsampling + conv"))
AUTOENCODERS.register("vq_model")(AutoencoderKind(VQModel, _vq, "vector-quantised autoencoder (LDM-VQ, MoVQ): quantised latent"))
AUTOENCODERS.register("autoencoder_tiny")(AutoencoderKind(AutoencoderTiny, _tiny, "TAESD: tiny residual decoder, byte-quantised latent"))
AUTOENCODERS.register("autoencoder_dc")(AutoencoderKind(AutoencoderDC, _dc, "deep-compression autoencoder (SANA's DC-AE): pixel-shuffle upsampling"))
