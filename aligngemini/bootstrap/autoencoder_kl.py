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

from aligngemini.bootstrap.autoencoder_training import scaling_factor, train_autoencoder
from aligngemini.bootstrap.registry import BUILDERS, BuildContext


@BUILDERS.register("autoencoder_kl")
def build_autoencoder_kl(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    channels = tuple(options.get("block_out_channels", (16, 32, 32)))
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=channels,
        layers_per_block=options.get("layers_per_block", 1),
        latent_channels=options.get("latent_channels", 4),
        norm_num_groups=min(8, *channels),
        sample_size=spec.resolution,
        mid_block_add_attention=False,  # attention is slow on a CPU and adds little at this size
        force_upcast=False,
    )
    noise = torch.Generator().manual_seed(spec.seed)
    kl_weight = options.get("kl_weight", 1e-6)

    def roundtrip(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        posterior = vae.encode(images).latent_dist
        return vae.decode(posterior.sample(generator=noise)).sample, kl_weight * posterior.kl().mean()

    crops = train_autoencoder(vae, ctx, roundtrip)
    vae.register_to_config(scaling_factor=scaling_factor(lambda x: vae.encode(x).latent_dist.mode(), crops))
    vae.save_pretrained(ctx.out_dir)
