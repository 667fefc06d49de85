"""The training objective every autoencoder builder shares, so the reconstructors of the
pixel-artifact dataset differ in their decoder's design and not in what they were taught.

Options read here (all optional): `l2_weight` (0: the loss is L1 alone; a squared-error term
pulls towards what PSNR scores), `spectral_weight` (0: off; above 0 the log-amplitude spectra
of output and input are matched too, because pixel losses reward a blurry average and the
pixel expert must not learn "blurry = fake"), `max_zoom` (1: crops are taken at the training
resolution; above 1 a crop up to that many times larger is resized down, so the model also
sees larger structures) and `saturation` (1: colours as they are; above 1 each crop's chroma
is scaled by a factor drawn from [1, saturation], because the real pool is mostly muted and a
model trained on it alone returns colourful photos greyish)."""

from __future__ import annotations

from typing import Callable

import torch

from aligngemini.bootstrap.data import CropSampler
from aligngemini.bootstrap.registry import BuildContext
from aligngemini.bootstrap.training import fit

# pixels in [-1, 1] -> (decoded pixels, the model's own regulariser: KL, VQ commitment, ...)
Roundtrip = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_SCALE_SAMPLES = 256  # crops used to measure the latent spread
_SPECTRUM_FLOOR = 1e-2  # amplitudes below it count as equally absent: log(0) would dominate


def saturate(images: torch.Tensor, max_factor: float, generator: torch.Generator) -> torch.Tensor:
    """Scales each image's distance from its own grey by a factor drawn from [1, max_factor]
    (images in [-1, 1], shape (n, 3, h, w))."""
    grey = images.mean(dim=1, keepdim=True)
    factors = torch.empty(images.shape[0], 1, 1, 1).uniform_(1.0, max_factor, generator=generator)
    return (grey + factors * (images - grey)).clamp(-1.0, 1.0)


def log_spectrum(images: torch.Tensor) -> torch.Tensor:
    """Per-channel log-amplitude spectrum: phase-free, so a decoder is asked for the input's
    energy at each frequency, not for its exact texture, which it cannot recover."""
    return torch.log(torch.fft.rfft2(images, norm="ortho").abs() + _SPECTRUM_FLOOR)


def encoder_decoder_layout(options: dict, default_channels: tuple[int, ...], resolution: int) -> dict:
    """The keyword arguments the KL and VQ builders share: one down and one up block per
    entry of `block_out_channels`, no mid-block attention (slow on a CPU, little gain here)."""
    channels = tuple(options.get("block_out_channels", default_channels))
    return dict(
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=channels,
        layers_per_block=options.get("layers_per_block", 1),
        latent_channels=options.get("latent_channels", 4),
        norm_num_groups=min(8, *channels),
        sample_size=resolution,
        mid_block_add_attention=False,
    )


def train_autoencoder(model: torch.nn.Module, ctx: BuildContext, roundtrip: Roundtrip) -> CropSampler:
    """Trains `model` on seeded crops of the real tiles and leaves it in eval mode; returns the
    crop sampler, for a builder that measures its latents afterwards."""
    spec, options = ctx.spec, ctx.spec.options
    crops = CropSampler(ctx.real_images, spec.resolution, spec.seed, max_zoom=options.get("max_zoom", 1.0))
    colours = torch.Generator().manual_seed(spec.seed + 1)
    l2_weight, spectral_weight = options.get("l2_weight", 0.0), options.get("spectral_weight", 0.0)
    saturation = options.get("saturation", 1.0)

    def loss_at(step: int) -> torch.Tensor:
        images, _ = crops.sample(spec.batch_size)
        if saturation != 1.0:
            images = saturate(images, saturation, colours)
        decoded, regulariser = roundtrip(images)
        error = decoded - images
        loss = error.abs().mean() + regulariser
        # terms are added only when asked for, so models built without them keep their exact bytes
        if l2_weight:
            loss = loss + l2_weight * error.square().mean()
        if spectral_weight:
            loss = loss + spectral_weight * (log_spectrum(decoded) - log_spectrum(images)).abs().mean()
        return loss

    model.train()
    fit(model.parameters(), loss_at, spec.train_steps, spec.learning_rate)
    model.eval()
    return crops


def scaling_factor(encode: Callable[[torch.Tensor], torch.Tensor], crops: CropSampler) -> float:
    """1 / the spread of the latents of a batch of crops: diffusers multiplies latents by
    `scaling_factor` before denoising, and unit variance there is what the noise schedules of
    latent generators assume."""
    with torch.no_grad():
        latents = encode(crops.sample(_SCALE_SAMPLES)[0])
    return round(1.0 / float(latents.std()), 5)

