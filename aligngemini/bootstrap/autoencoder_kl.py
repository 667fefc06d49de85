"""`autoencoder_kl` builder: a small `AutoencoderKL`, the decoder the latent generators share
and a reconstructor of the pixel-artifact dataset (nearest-neighbour upsampling + conv, the
Stable Diffusion design).

Options (all optional): `block_out_channels` (list; the image is downsampled 2x between
blocks, default [16, 32, 32] = 4x), `layers_per_block` (1), `latent_channels` (4),
`kl_weight` (1e-6: small, so the posterior stays sharp enough to reconstruct), and the
shared training options `l2_weight`, `spectral_weight`, `max_zoom`, `saturation` (see
`autoencoder_training`)."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL

from aligngemini.bootstrap.autoencoder_training import encoder_decoder_layout, scaling_factor, train_autoencoder
from aligngemini.bootstrap.registry import BUILDERS, BuildContext


@BUILDERS.register("autoencoder_kl")
def build_autoencoder_kl(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    vae = AutoencoderKL(**encoder_decoder_layout(options, (16, 32, 32), spec.resolution), force_upcast=False)
    noise = torch.Generator().manual_seed(spec.seed)
    kl_weight = options.get("kl_weight", 1e-6)

    def roundtrip(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        posterior = vae.encode(images).latent_dist
        return vae.decode(posterior.sample(generator=noise)).sample, kl_weight * posterior.kl().mean()

    crops = train_autoencoder(vae, ctx, roundtrip)
    vae.register_to_config(scaling_factor=scaling_factor(lambda x: vae.encode(x).latent_dist.mode(), crops))
    vae.save_pretrained(ctx.out_dir)
