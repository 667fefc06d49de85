"""Rectified-flow pieces for the flow-matching builders (`flux`): the sampler they ship and
the loss they train with, on the same noise path."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import FlowMatchEulerDiscreteScheduler

from aligngemini.bootstrap.diffusion import Denoise


def flow_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """Euler steps along the straight path, no resolution-dependent shift (as FLUX.1-schnell):
    sigmas fall evenly from 1 (pure noise)."""
    return FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)


def flow_matching_loss(denoise: Denoise, clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """MSE against the velocity `noise - clean` at `x = (1 - s) clean + s noise`, with s ~ U(0, 1)
    given to `denoise` as the timestep: the Euler sampler moves `x` by `(s_next - s)` times
    that velocity."""
    noise = torch.randn(clean.shape, generator=generator)
    sigmas = torch.rand(clean.shape[0], generator=generator)
    s = sigmas.view(-1, *[1] * (clean.dim() - 1))
    return F.mse_loss(denoise((1 - s) * clean + s * noise, sigmas), noise - clean)
