"""`stable_diffusion` builder: a tiny `StableDiffusionPipeline` (latent UNet with
cross-attention, CLIP text encoder, the shared VAE, DDIM).

Options: `vae` (required: name of the built autoencoder), `block_out_channels` ([32, 64]),
`text_width` (32: CLIP hidden size), `max_zoom` (2.0: see `CropSampler`)."""

from __future__ import annotations

import torch
from diffusers import StableDiffusionPipeline
from transformers import CLIPTextModel

from aligngemini.bootstrap.latent_diffusion import (
    Conditioning,
    latent_scheduler,
    load_vae,
    text_unet,
    train_latent_denoiser,
)
from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.bootstrap.text_encoders import CLIP_MAX_TOKENS, clip_text_config
from aligngemini.bootstrap.vocab import clip_tokenizer


@BUILDERS.register("stable_diffusion")
def build_stable_diffusion(ctx: BuildContext) -> None:
    options = ctx.spec.options
    vae = load_vae(ctx)
    tokenizer = clip_tokenizer(ctx.prompts, CLIP_MAX_TOKENS)
    text_width = options.get("text_width", 32)
    text_encoder = CLIPTextModel(clip_text_config(tokenizer, text_width))
    unet = text_unet(ctx, vae, cross_attention_dim=text_width)
    scheduler = latent_scheduler()
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )

    def encode(captions: list[str]) -> Conditioning:
        embeds, _ = pipe.encode_prompt(captions, "cpu", 1, do_classifier_free_guidance=False)
        return (embeds,)

    def predict(latents: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        return unet(latents, timesteps, encoder_hidden_states=cond[0]).sample

    train_latent_denoiser(ctx, unet, predict, encode, vae, scheduler)
    pipe.save_pretrained(ctx.out_dir)
