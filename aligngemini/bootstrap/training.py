"""The optimisation loop shared by every bootstrap builder."""

from __future__ import annotations

import logging
import math
from typing import Callable, Iterable

import torch

logger = logging.getLogger(__name__)


def fit(params: Iterable[torch.nn.Parameter], loss_at: Callable[[int], torch.Tensor], steps: int, lr: float) -> None:
    """AdamW for a fixed number of steps (deterministic, unlike a time budget), with a short
    warm-up and a cosine decay to zero: a short run ends on settled weights without an EMA."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * step / steps))
    )
    for step in range(steps):
        loss = loss_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            logger.info("step %d/%d loss %.4f", step + 1, steps, loss.item())
