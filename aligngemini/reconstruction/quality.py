"""How faithfully a VAE reconstructs: PSNR, alone and over held-out real tiles."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from aligngemini.reconstruction.vae import image_seed, reconstruct


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays of one shape (peak 255).
    Identical arrays give `math.inf`, as the definition does (no cap)."""
    if a.shape != b.shape:
        raise ValueError(f"arrays differ in shape: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"psnr needs uint8 arrays, got {a.dtype} and {b.dtype}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)


def heldout_psnr(vae: torch.nn.Module, tiles: Sequence[np.ndarray], base_seed: int, batch_size: int) -> float:
    """Mean PSNR of `reconstruct` over uint8 HxWx3 tiles of one size (the real tiles no
    bootstrap model trained on). Each tile's latent seed comes from its pixels' hash, so
    the score does not depend on the tiles' order (the batch size changes rounding only)."""
    if not tiles:
        raise ValueError("no tiles to measure")
    seeds = [image_seed(base_seed, hashlib.sha256(np.ascontiguousarray(tile).tobytes()).hexdigest()) for tile in tiles]
    outputs = reconstruct(vae, [Image.fromarray(tile) for tile in tiles], seeds, batch_size)
    return float(np.mean([psnr(np.asarray(out), tile) for out, tile in zip(outputs, tiles)]))
