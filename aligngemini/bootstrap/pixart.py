"""`pixart` builder: a tiny `PixArtAlphaPipeline` (DiT-style transformer with
cross-attention, T5 encoder, the shared VAE, DDIM).

The transformer's sample_size is the latent side (16 at 64 px), which PixArt's resolution
binning does not know: call the pipeline with `use_resolution_binning=False` (and
`clean_caption=False`, as training encodes raw captions).

Options: `vae` (required: name of the built autoencoder), `width` (64: transformer hidden
size), `layers` (4), `text_width` (32: T5 d_model), `max_zoom` (2.0: see `CropSampler`)."""

from __future__ import annotations

import torch
from diffusers import PixArtAlphaPipeline, PixArtTransformer2DModel
from transformers import T5EncoderModel

from aligngemini.bootstrap.latent_diffusion import (
    Conditioning,
    latent_scheduler,
    latent_side,
    load_vae,
    train_latent_denoiser,
)
from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.bootstrap.text_encoders import t5_config
from aligngemini.bootstrap.vocab import t5_tokenizer

MAX_TOKENS = 120  # the pipeline's default max_sequence_length
_HEAD_DIM = 32


@BUILDERS.register("pixart")
def build_pixart(ctx: BuildContext) -> None:
    options = ctx.spec.options
    vae = load_vae(ctx)
    tokenizer = t5_tokenizer(ctx.prompts, MAX_TOKENS)
    text_width = options.get("text_width", 32)
    text_encoder = T5EncoderModel(t5_config(tokenizer, text_width))
    width = options.get("width", 64)
    transformer = PixArtTransformer2DModel(
        num_attention_heads=width // _HEAD_DIM,
        attention_head_dim=_HEAD_DIM,
        in_channels=vae.config.latent_channels,
        out_channels=vae.config.latent_channels,  # no learned variance: DDIM ignores it
        num_layers=options.get("layers", 4),
        cross_attention_dim=width,
        caption_channels=text_width,
        sample_size=latent_side(ctx, vae),
        patch_size=2,
    )
    scheduler = latent_scheduler()
    pipe = PixArtAlphaPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )

    def encode(captions: list[str]) -> Conditioning:
        # raw captions, as generation passes clean_caption=False (cleaning needs optional packages)
        embeds, mask, _, _ = pipe.encode_prompt(
            captions,
            do_classifier_free_guidance=False,
            device="cpu",
            clean_caption=False,
            max_sequence_length=MAX_TOKENS,
        )
        return embeds, mask

    def predict(latents: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        embeds, mask = cond
        return transformer(
            latents,
            encoder_hidden_states=embeds,
            encoder_attention_mask=mask,
            timestep=timesteps,
            added_cond_kwargs={"resolution": None, "aspect_ratio": None},
        ).sample

    train_latent_denoiser(ctx, transformer, predict, encode, vae, scheduler)
    pipe.save_pretrained(ctx.out_dir)
