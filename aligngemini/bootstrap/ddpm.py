"""`ddpm` builder: a pixel-space `DDPMPipeline` (small convolutional `UNet2DModel`, no
attention) that ships a trailing-timestep DDIM scheduler, so 10 steps suffice.

The UNet predicts the clean image ("sample"), not the noise: a briefly trained pixel-space
noise predictor leaves its residual error as visible noise in the last step, while a clean
image predictor errs towards blur, which still looks like an image.

Options: `block_out_channels` ([16, 32, 64]), `prediction_type` ("sample"), `max_zoom`
(4.0: 32 px crops cut from up to 128 px, i.e. whole tiles shrunk; see `CropSampler`),
`sample_size` (the side of generated images; default `resolution`). The UNet is fully
convolutional, so it can train on small crops (cheap) and sample larger images: the
embedded profile samples 64 px, the smallest side the pixel expert scores."""

from __future__ import annotations

import torch
from diffusers import DDPMPipeline, UNet2DModel

from aligngemini.bootstrap.data import CropSampler
from aligngemini.bootstrap.diffusion import ddim_scheduler, denoising_loss
from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.bootstrap.training import fit


@BUILDERS.register("ddpm")
def build_ddpm(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    channels = tuple(options.get("block_out_channels", (16, 32, 64)))
    unet = UNet2DModel(
        sample_size=options.get("sample_size", spec.resolution),
        block_out_channels=channels,
        down_block_types=("DownBlock2D",) * len(channels),  # attention is slow on a CPU at pixel resolution
        up_block_types=("UpBlock2D",) * len(channels),
        layers_per_block=1,
        norm_num_groups=8,
    )
    scheduler = ddim_scheduler(
        beta_schedule="linear", clip_sample=True, prediction_type=options.get("prediction_type", "sample")
    )
    crops = CropSampler(ctx.real_images, spec.resolution, spec.seed, options.get("max_zoom", 4.0))
    generator = torch.Generator().manual_seed(spec.seed)

    def loss_at(step: int) -> torch.Tensor:
        images, _ = crops.sample(spec.batch_size)
        return denoising_loss(lambda x, t: unet(x, t).sample, images, scheduler, generator)

    unet.train()
    fit(unet.parameters(), loss_at, spec.train_steps, spec.learning_rate)
    unet.eval()
    DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(ctx.out_dir)
