"""Denoising pieces shared by the diffusion builders: the sampler they ship and the loss
they train with, on the same noise schedule and prediction type."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (noisy sample, timesteps) -> prediction


def ddim_scheduler(**config: Any) -> DDIMScheduler:
    """DDIM with trailing timesteps: its first step starts at the last training timestep,
    which keeps 8-10 step sampling close to the training noise levels."""
    return DDIMScheduler(timestep_spacing="trailing", set_alpha_to_one=False, steps_offset=1, **config)


def denoising_loss(
    denoise: Denoise, clean: torch.Tensor, scheduler: DDIMScheduler, generator: torch.Generator
) -> torch.Tensor:
    """MSE against what the scheduler expects the model to predict: the noise ("epsilon"),
    the clean sample ("sample") or the velocity ("v_prediction")."""
    noise = torch.randn(clean.shape, generator=generator)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (clean.shape[0],), generator=generator)
    targets = {"epsilon": noise, "sample": clean}
    kind = scheduler.config.prediction_type
    target = targets[kind] if kind in targets else scheduler.get_velocity(clean, noise, timesteps)
    return F.mse_loss(denoise(scheduler.add_noise(clean, noise, timesteps), timesteps), target)
