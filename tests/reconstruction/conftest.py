"""A VAE small enough to build from its config in a blink: the reconstruction code needs
the AutoencoderKL interface, not a trained model."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL


@pytest.fixture(scope="session")
def tiny_vae() -> AutoencoderKL:
    """Untrained, 4x downsampling, the widths of the bootstrap `tiny-vae`; its posterior
    noise is large, so the latent seed visibly changes the output."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 3,
            up_block_types=("UpDecoderBlock2D",) * 3,
            block_out_channels=(16, 32, 32),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=4,
            mid_block_add_attention=False,
        ).eval()
