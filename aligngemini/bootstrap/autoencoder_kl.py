"""`autoencoder_kl` builder: a small `AutoencoderKL`, the decoder the latent generators share
and the reconstruction VAE of the pixel-artifact dataset.

Options (all optional): `block_out_channels` (list; the image is downsampled 2x between
blocks, default [16, 32, 32] = 4x), `layers_per_block` (1), `latent_channels` (4),
`kl_weight` (1e-6: small, so the posterior stays sharp enough to reconstruct),
`l2_weight` (0: the loss is L1 alone; a squared-error term pulls towards what PSNR scores),
`max_zoom` (1: crops are taken at the training resolution; above 1 a crop up to that many
times larger is resized down, so the model also sees larger structures) and `saturation`
(1: colours as they are; above 1 each crop's chroma is scaled by a factor drawn from
[1, saturation], because the real pool is mostly muted and a model trained on it alone
returns colourful photos greyish)."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL

from aligngemini.bootstrap.data import CropSampler
from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.bootstrap.training import fit

_SCALE_SAMPLES = 256  # crops used to measure the latent spread


def saturate(images: torch.Tensor, max_factor: float, generator: torch.Generator) -> torch.Tensor:
    """Scales each image's distance from its own grey by a factor drawn from [1, max_factor]
    (images in [-1, 1], shape (n, 3, h, w))."""
    grey = images.mean(dim=1, keepdim=True)
    factors = torch.empty(images.shape[0], 1, 1, 1).uniform_(1.0, max_factor, generator=generator)
    return (grey + factors * (images - grey)).clamp(-1.0, 1.0)


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
    crops = CropSampler(ctx.real_images, spec.resolution, spec.seed, max_zoom=options.get("max_zoom", 1.0))
    noise = torch.Generator().manual_seed(spec.seed)
    colours = torch.Generator().manual_seed(spec.seed + 1)
    kl_weight, l2_weight = options.get("kl_weight", 1e-6), options.get("l2_weight", 0.0)
    saturation = options.get("saturation", 1.0)

    def loss_at(step: int) -> torch.Tensor:
        images, _ = crops.sample(spec.batch_size)
        if saturation != 1.0:
            images = saturate(images, saturation, colours)
        posterior = vae.encode(images).latent_dist
        error = vae.decode(posterior.sample(generator=noise)).sample - images
        loss = error.abs().mean() + kl_weight * posterior.kl().mean()
        # added only when asked for, so models built without it keep their exact bytes
        return loss + l2_weight * error.square().mean() if l2_weight else loss

    vae.train()
    fit(vae.parameters(), loss_at, spec.train_steps, spec.learning_rate)
    vae.eval()
    with torch.no_grad():
        latents = vae.encode(crops.sample(_SCALE_SAMPLES)[0]).latent_dist.mode()
    # diffusers multiplies latents by scaling_factor before denoising: unit variance there
    # is what the noise schedules of the latent generators assume
    vae.register_to_config(scaling_factor=round(1.0 / float(latents.std()), 5))
    vae.save_pretrained(ctx.out_dir)
