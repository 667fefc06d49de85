"""`autoencoder_tiny` builder: a small `AutoencoderTiny`, the TAESD design (plain residual
conv blocks with no normalisation, a tanh-clamped latent stored as bytes, upsampling by
interpolation then conv).

Options (all optional): `channels` (32: width of every block; TAESD's blocks share one
width), `encoder_blocks` (list of residual blocks per stage, default [1, 2, 2]; the image is
downsampled 2x between stages, so 3 stages = 4x), `decoder_blocks` (the decoder's, default
the encoder's reversed), `latent_channels` (4), `upsample_fn` ("bilinear": a different
upsampling trace from the KL decoder's nearest-neighbour one; TAESD uses "nearest"), and
the shared training options `l2_weight`, `spectral_weight`, `max_zoom`, `saturation` (see
`autoencoder_training`)."""

from __future__ import annotations

import torch
from diffusers import AutoencoderTiny

from aligngemini.bootstrap.autoencoder_training import train_autoencoder
from aligngemini.bootstrap.registry import BUILDERS, BuildContext


@BUILDERS.register("autoencoder_tiny")
def build_autoencoder_tiny(ctx: BuildContext) -> None:
    options = ctx.spec.options
    encoder_blocks = tuple(options.get("encoder_blocks", (1, 2, 2)))
    decoder_blocks = tuple(options.get("decoder_blocks", encoder_blocks[::-1]))
    width = options.get("channels", 32)
    vae = AutoencoderTiny(
        encoder_block_out_channels=(width,) * len(encoder_blocks),
        decoder_block_out_channels=(width,) * len(decoder_blocks),
        num_encoder_blocks=encoder_blocks,
        num_decoder_blocks=decoder_blocks,
        latent_channels=options.get("latent_channels", 4),
        upsample_fn=options.get("upsample_fn", "bilinear"),
    )
    no_regulariser = torch.zeros(())

    def roundtrip(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the byte rounding that reconstruction applies, with a straight-through gradient, so
        # the decoder is trained on the latents it will be given and the encoder still learns
        scaled = vae.scale_latents(vae.encode(images).latents)
        stored = scaled + (scaled.mul(255).round().div(255) - scaled).detach()
        return vae.decode(vae.unscale_latents(stored)).sample, no_regulariser

    train_autoencoder(vae, ctx, roundtrip)
    vae.save_pretrained(ctx.out_dir)
