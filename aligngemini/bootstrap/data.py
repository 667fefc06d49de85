"""Seeded random crops of the real tiles: the only training data of the bootstrap models."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from aligngemini.errors import AlignGeminiError


class CropSampler:
    """Draws square crops as float tensors in [-1, 1], shape (n, 3, size, size), with random
    horizontal flips. With `max_zoom` > 1 the crop side is drawn from [size, size * max_zoom]
    and resized down to `size`, so a small model sees whole objects, not only textures.
    Returns each crop's tile index too, so a tile can carry a fixed caption."""

    def __init__(self, images: Sequence[np.ndarray], size: int, seed: int, max_zoom: float = 1.0):
        self._tiles = [torch.from_numpy(np.ascontiguousarray(img[..., :3])).permute(2, 0, 1) for img in images]
        if not any(min(t.shape[1:]) >= size for t in self._tiles):
            raise AlignGeminiError(f"no real image is at least {size}x{size} pixels: cannot train at that resolution")
        self.size = size
        self.max_zoom = max_zoom
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self._tiles)

    def _randint(self, low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (), generator=self._generator))

    def _crop(self, tile: torch.Tensor) -> torch.Tensor:
        height, width = tile.shape[1:]
        side = self._randint(self.size, min(height, width, int(self.size * self.max_zoom)))
        top, left = self._randint(0, height - side), self._randint(0, width - side)
        crop = tile[:, top : top + side, left : left + side].float().unsqueeze(0) / 127.5 - 1.0
        if side != self.size:
            crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", antialias=True)
        if self._randint(0, 1):
            crop = crop.flip(-1)
        return crop

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        indices = []
        while len(indices) < n:
            index = self._randint(0, len(self._tiles) - 1)
            if min(self._tiles[index].shape[1:]) >= self.size:
                indices.append(index)
        crops = torch.cat([self._crop(self._tiles[i]) for i in indices])
        return crops.clamp(-1.0, 1.0), torch.tensor(indices)
