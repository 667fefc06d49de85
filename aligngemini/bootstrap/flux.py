"""`flux` builder: a tiny `FluxPipeline` (MMDiT `FluxTransformer2DModel` over 2x2-packed
latents, CLIP pooled and T5 sequence text conditioning, the shared VAE, flow-matching
Euler sampling), the architecture of FLUX.1-schnell, trained by flow matching.

The VAE is the shared autoencoder with its own latent statistics: Flux decodes
`latents / scaling_factor + shift_factor`, so both are measured on real crops. The latent
side must be even (packing), i.e. `resolution` a multiple of twice the VAE's downsampling.
Prompts are encoded with `MAX_TOKENS` T5 tokens, as generation calls FluxPipeline.

Options: `vae` (required: name of the built autoencoder), `width` (64: transformer hidden
size, heads of 16), `layers` (1 double-stream block), `single_layers` (2 single-stream
blocks), `text_width` (32: CLIP and T5 widths), `max_zoom` (2.0: see `CropSampler`)."""

from __future__ import annotations

import torch
from diffusers import FluxPipeline, FluxTransformer2DModel
from transformers import CLIPTextModel, T5EncoderModel

from aligngemini.bootstrap.data import CropSampler
from aligngemini.bootstrap.flow_matching import flow_matching_loss, flow_scheduler
from aligngemini.bootstrap.latent_diffusion import DEFAULT_MAX_ZOOM, latent_side, load_vae
from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.bootstrap.text_encoders import CLIP_MAX_TOKENS, clip_text_config, t5_config
from aligngemini.bootstrap.training import fit
from aligngemini.bootstrap.vocab import clip_tokenizer, t5_tokenizer
from aligngemini.errors import AlignGeminiError

MAX_TOKENS = 256  # FLUX.1-schnell's T5 length; the generation convention passes the same
_HEAD_DIM = 16
_ROPE_AXES = (4, 6, 6)  # rotary dims of (text/image flag, row, column); they sum to _HEAD_DIM
_SCALE_SAMPLES = 256  # crops used to measure the latent statistics


@BUILDERS.register("flux")
def build_flux(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    vae = load_vae(ctx)
    side = latent_side(ctx, vae)
    if side % 2:
        raise AlignGeminiError(f"bootstrap model '{spec.name}': latent side {side} is odd; Flux packs 2x2 latent patches")
    text_width = options.get("text_width", 32)
    width = options.get("width", 64)
    transformer = FluxTransformer2DModel(
        in_channels=4 * vae.config.latent_channels,
        num_layers=options.get("layers", 1),
        num_single_layers=options.get("single_layers", 2),
        attention_head_dim=_HEAD_DIM,
        num_attention_heads=width // _HEAD_DIM,
        joint_attention_dim=text_width,
        pooled_projection_dim=text_width,
        axes_dims_rope=_ROPE_AXES,
    )
    clip = clip_tokenizer(ctx.prompts, CLIP_MAX_TOKENS)
    t5 = t5_tokenizer(ctx.prompts, MAX_TOKENS)
    pipe = FluxPipeline(
        scheduler=flow_scheduler(),
        vae=vae,
        text_encoder=CLIPTextModel(clip_text_config(clip, text_width)),
        tokenizer=clip,
        text_encoder_2=T5EncoderModel(t5_config(t5, text_width)),
        tokenizer_2=t5,
        transformer=transformer,
    )
    crops = CropSampler(ctx.real_images, spec.resolution, spec.seed, options.get("max_zoom", DEFAULT_MAX_ZOOM))
    generator = torch.Generator().manual_seed(spec.seed)
    vae.requires_grad_(False).eval()
    with torch.no_grad():
        latents = vae.encode(crops.sample(_SCALE_SAMPLES)[0]).latent_dist.mode()
    vae.register_to_config(shift_factor=round(float(latents.mean()), 5), scaling_factor=round(1.0 / float(latents.std()), 5))

    # real tiles have no captions: tile i gets caption i mod len(captions), as in latent_diffusion
    captions = list(ctx.prompts) or [""]
    with torch.no_grad():
        embeds, pooled, text_ids = pipe.encode_prompt(captions, device="cpu", max_sequence_length=MAX_TOKENS)
    channels = vae.config.latent_channels
    # the pipeline's own packing, so training sees the token layout that sampling uses
    image_ids = FluxPipeline._prepare_latent_image_ids(1, side // 2, side // 2, "cpu", torch.float32)

    def loss_at(step: int) -> torch.Tensor:
        images, tiles = crops.sample(spec.batch_size)
        with torch.no_grad():
            z = vae.encode(images).latent_dist.sample(generator=generator)
        clean = (z - vae.config.shift_factor) * vae.config.scaling_factor
        rows = tiles % len(captions)

        def denoise(noisy: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
            packed = FluxPipeline._pack_latents(noisy, len(noisy), channels, side, side)
            velocity = transformer(
                hidden_states=packed,
                timestep=sigmas,  # the pipeline passes timestep / 1000, i.e. sigma
                pooled_projections=pooled[rows],
                encoder_hidden_states=embeds[rows],
                txt_ids=text_ids,
                img_ids=image_ids,
            ).sample
            return FluxPipeline._unpack_latents(velocity, spec.resolution, spec.resolution, pipe.vae_scale_factor)

        return flow_matching_loss(denoise, clean, generator)

    transformer.train()
    fit(transformer.parameters(), loss_at, spec.train_steps, spec.learning_rate)
    transformer.eval()
    pipe.save_pretrained(ctx.out_dir)
