"""`stable_diffusion_xl` builder: a tiny `StableDiffusionXLPipeline` (latent UNet with
cross-attention and SDXL's pooled-text and size conditioning, two CLIP text encoders, the
shared VAE, DDIM), the architecture of SDXL-Turbo.

Negative prompts are encoded, not zeroed (`force_zeros_for_empty_prompt=False`): training
drops captions to "", so that encoding is the unconditional model guidance needs.

Options: `vae` (required: name of the built autoencoder), `block_out_channels` ([32, 64]),
`text_width` (32: hidden size of each CLIP encoder), `max_zoom` (2.0: see `CropSampler`)."""

from __future__ import annotations

import torch
from diffusers import StableDiffusionXLPipeline
from transformers import CLIPTextModel, CLIPTextModelWithProjection

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

_TIME_EMBED_DIM = 8  # per size number; SDXL conditions on 6 (original size, crop corner, target size)


@BUILDERS.register("stable_diffusion_xl")
def build_stable_diffusion_xl(ctx: BuildContext) -> None:
    options = ctx.spec.options
    vae = load_vae(ctx)
    tokenizer = clip_tokenizer(ctx.prompts, CLIP_MAX_TOKENS)
    text_width = options.get("text_width", 32)
    text_encoder = CLIPTextModel(clip_text_config(tokenizer, text_width))
    text_encoder_2 = CLIPTextModelWithProjection(clip_text_config(tokenizer, text_width, projection_dim=text_width))
    unet = text_unet(
        ctx, vae,
        cross_attention_dim=2 * text_width,  # both encoders' hidden states, concatenated
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=_TIME_EMBED_DIM,
        projection_class_embeddings_input_dim=6 * _TIME_EMBED_DIM + text_width,
    )  # fmt: skip
    scheduler = latent_scheduler()
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=False,
    )
    side = ctx.spec.resolution
    # what the pipeline passes for an uncropped square image of the requested side
    time_ids = torch.tensor([[side, side, 0, 0, side, side]], dtype=torch.float32)

    def encode(captions: list[str]) -> Conditioning:
        embeds, _, pooled, _ = pipe.encode_prompt(captions, device="cpu", do_classifier_free_guidance=False)
        return embeds, pooled

    def predict(latents: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        embeds, pooled = cond
        added = {"text_embeds": pooled, "time_ids": time_ids.expand(len(latents), -1)}
        return unet(latents, timesteps, encoder_hidden_states=embeds, added_cond_kwargs=added).sample

    train_latent_denoiser(ctx, unet, predict, encode, vae, scheduler)
    pipe.save_pretrained(ctx.out_dir)
