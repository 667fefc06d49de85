"""`vq_model` builder: a small `VQModel`, the vector-quantised autoencoder of LDM-VQ and, with
`norm_type: spatial`, of MoVQ (Kandinsky), whose decoder normalisation is modulated by the
quantised latent.

Options (all optional): `block_out_channels` (list; the image is downsampled 2x between
blocks, default [32, 32] = 2x; with spatial norm each a multiple of 32, the group count
diffusers' `SpatialNorm` fixes), `layers_per_block` (1), `latent_channels` (4),
`num_vq_embeddings` (256: codebook size), `norm_type` ("spatial"; "group" is the LDM-VQ
decoder), `commit_weight` (1: weight of the codebook and commitment loss), and the shared
training options `l2_weight`, `spectral_weight`, `max_zoom`, `saturation` (see
`autoencoder_training`)."""

from __future__ import annotations

import torch
from diffusers import VQModel

from aligngemini.bootstrap.autoencoder_training import encoder_decoder_layout, scaling_factor, train_autoencoder
from aligngemini.bootstrap.registry import BUILDERS, BuildContext


@BUILDERS.register("vq_model")
def build_vq_model(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    vae = VQModel(
        **encoder_decoder_layout(options, (32, 32), spec.resolution),
        num_vq_embeddings=options.get("num_vq_embeddings", 256),
        norm_type=options.get("norm_type", "spatial"),
    )
    commit_weight = options.get("commit_weight", 1.0)

    def roundtrip(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        decoded = vae.decode(vae.encode(images).latents, force_not_quantize=False)
        return decoded.sample, commit_weight * decoded.commit_loss.mean()

    crops = train_autoencoder(vae, ctx, roundtrip)
    vae.register_to_config(scaling_factor=scaling_factor(lambda x: vae.encode(x).latents, crops))
    vae.save_pretrained(ctx.out_dir)
