"""Training shared by the latent text-to-image builders (`stable_diffusion`, `pixart`): the
denoiser learns to predict noise on the shared VAE's latents of real crops, conditioned on
the pipeline's own prompt encoding, with the text encoder frozen at its random init."""

from __future__ import annotations

from typing import Callable

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

from aligngemini.bootstrap.data import CropSampler
from aligngemini.bootstrap.diffusion import ddim_scheduler, denoising_loss
from aligngemini.bootstrap.registry import BuildContext
from aligngemini.bootstrap.training import fit
from aligngemini.errors import AlignGeminiError

Conditioning = tuple[torch.Tensor, ...]  # text embeddings (and mask), one row per caption
Predict = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]  # (latents, timesteps, cond) -> noise

# captions dropped to "" this often, so classifier-free guidance has an unconditional model
UNCONDITIONAL_RATE = 0.1
DEFAULT_MAX_ZOOM = 2.0  # 64 px crops cut from up to 128 px: whole objects, not only texture


def load_vae(ctx: BuildContext) -> AutoencoderKL:
    name = ctx.spec.options.get("vae")
    if not name:
        raise AlignGeminiError(f"bootstrap model '{ctx.spec.name}': options.vae must name an autoencoder built earlier")
    path = ctx.models_root / name
    if not (path / "config.json").is_file():
        raise AlignGeminiError(f"bootstrap model '{ctx.spec.name}': autoencoder '{name}' is not built yet ({path})")
    vae = AutoencoderKL.from_pretrained(path)
    # from_pretrained records the absolute source path, which save_pretrained would write
    # out: name the model instead, so the files do not depend on where the project lives
    vae.register_to_config(_name_or_path=name)
    return vae


def latent_side(ctx: BuildContext, vae: AutoencoderKL) -> int:
    """Side of the latent grid at the spec's resolution (the VAE halves it between blocks)."""
    return ctx.spec.resolution // 2 ** (len(vae.config.block_out_channels) - 1)


def text_unet(ctx: BuildContext, vae: AutoencoderKL, cross_attention_dim: int, **extra) -> UNet2DConditionModel:
    """The small text-conditioned latent UNet of the Stable Diffusion builders (`extra`: the
    SDXL conditioning keys); `block_out_channels` comes from the spec's options."""
    channels = tuple(ctx.spec.options.get("block_out_channels", (32, 64)))
    return UNet2DConditionModel(
        sample_size=latent_side(ctx, vae),
        in_channels=vae.config.latent_channels,
        out_channels=vae.config.latent_channels,
        block_out_channels=channels,
        # cross-attention only at the coarsest level (and the mid block): cheap on a CPU
        down_block_types=("DownBlock2D",) * (len(channels) - 1) + ("CrossAttnDownBlock2D",),
        up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (len(channels) - 1),
        layers_per_block=1,
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=8,
        norm_num_groups=8,
        **extra,
    )


def latent_scheduler() -> DDIMScheduler:
    """Stable Diffusion's scaled-linear noise schedule, for unit-variance latents."""
    return ddim_scheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)


def train_latent_denoiser(
    ctx: BuildContext,
    denoiser: torch.nn.Module,
    predict: Predict,
    encode_prompts: Callable[[list[str]], Conditioning],
    vae: AutoencoderKL,
    scheduler: DDIMScheduler,
) -> None:
    """Real tiles have no captions, so tile i gets caption i mod len(captions): the text then
    carries some information about the image, and guidance has something to amplify."""
    spec = ctx.spec
    captions = list(ctx.prompts) or [""]
    with torch.no_grad():
        conditioning = encode_prompts([*captions, ""])
    unconditional = len(captions)
    crops = CropSampler(ctx.real_images, spec.resolution, spec.seed, spec.options.get("max_zoom", DEFAULT_MAX_ZOOM))
    generator = torch.Generator().manual_seed(spec.seed)
    vae.requires_grad_(False).eval()

    def loss_at(step: int) -> torch.Tensor:
        images, tiles = crops.sample(spec.batch_size)
        with torch.no_grad():
            latents = vae.encode(images).latent_dist.sample(generator=generator) * vae.config.scaling_factor
        dropped = torch.rand(len(tiles), generator=generator) < UNCONDITIONAL_RATE
        rows = torch.where(dropped, unconditional, tiles % len(captions))
        batch = tuple(part[rows] for part in conditioning)
        return denoising_loss(lambda x, t: predict(x, t, batch), latents, scheduler, generator)

    denoiser.train()
    fit(denoiser.parameters(), loss_at, spec.train_steps, spec.learning_rate)
    denoiser.eval()
