"""`autoencoder_dc` builder: a small `AutoencoderDC`, the deep-compression autoencoder of
SANA (residual space-to-channel shortcuts, RMS-normalised blocks, pixel-shuffle upsampling).

Options (all optional): `block_out_channels` (list; the image is downsampled 2x between
blocks, default [16, 32, 64] = 4x; each must be at most 4x its neighbour, as the shortcuts
regroup channels), `layers_per_block` (1), `latent_channels` (16: divides the last block's
width), `attention` (false; true makes the last block an EfficientViT linear-attention
block, as DC-AE's deep stages are), and the shared training options `l2_weight`,
`spectral_weight`, `max_zoom`, `saturation` (see `autoencoder_training`)."""

from __future__ import annotations

import torch
from diffusers import AutoencoderDC

from aligngemini.bootstrap.autoencoder_training import scaling_factor, train_autoencoder
from aligngemini.bootstrap.registry import BUILDERS, BuildContext


@BUILDERS.register("autoencoder_dc")
def build_autoencoder_dc(ctx: BuildContext) -> None:
    options = ctx.spec.options
    channels = tuple(options.get("block_out_channels", (16, 32, 64)))
    blocks = ("ResBlock",) * (len(channels) - 1) + ("EfficientViTBlock" if options.get("attention", False) else "ResBlock",)
    scales = ((),) * (len(channels) - 1) + ((5,),)
    layers = (options.get("layers_per_block", 1),) * len(channels)
    vae = AutoencoderDC(
        latent_channels=options.get("latent_channels", 16),
        attention_head_dim=8,
        encoder_block_types=blocks,
        decoder_block_types=blocks,
        encoder_block_out_channels=channels,
        decoder_block_out_channels=channels,
        encoder_layers_per_block=layers,
        decoder_layers_per_block=layers,
        encoder_qkv_multiscales=scales,
        decoder_qkv_multiscales=scales,
    )
    no_regulariser = torch.zeros(())

    def roundtrip(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return vae.decode(vae.encode(images).latent).sample, no_regulariser

    crops = train_autoencoder(vae, ctx, roundtrip)
    vae.register_to_config(scaling_factor=scaling_factor(lambda x: vae.encode(x).latent, crops))
    vae.save_pretrained(ctx.out_dir)
