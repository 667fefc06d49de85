"""Pairs of the pixel-artifact dataset, and the torch Dataset that augments them.

The manifest is the pixel dataset's `manifest.parquet` as rows (e.g. from
`aligngemini.manifest.read_manifest`); a real image and its reconstruction share
`pair_id`. Images are read with a caller's `load(path) -> PIL.Image` given the manifest's
`path`, so confinement to the data root and defensive decoding stay with the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from aligngemini.pixel.augment import augment_pair
from aligngemini.pixel.config import AugmentConfig

Load = Callable[[str], Image.Image]
LABELS = {"real": 0.0, "fake": 1.0}
# numpy pads seed entropy with zeros ([s, e] seeds like [s, e, 0]), so a stream's seed
# cannot be told apart by its length: each stream puts its own tag third
_ITEM_STREAM, _SHUFFLE_STREAM = 1, 2


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The private draws of training item `index` in `epoch`."""
    return np.random.default_rng([seed, epoch, _ITEM_STREAM, index])


def shuffled(count: int, seed: int, epoch: int) -> list[int]:
    """The order items are visited in during `epoch`."""
    return np.random.default_rng([seed, epoch, _SHUFFLE_STREAM]).permutation(count).tolist()


@dataclass(frozen=True)
class Pair:
    pair_id: str
    real_path: str
    fake_path: str


def pairs_of_split(rows: Iterable[Mapping], split: str) -> list[Pair]:
    """The pairs of `split`, sorted by pair_id; a pair without exactly one real and one
    fake is an error naming it (the validate stage should have caught it)."""
    members: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"real": [], "fake": []})
    for row in rows:
        if row["split"] == split:
            if row["label"] not in LABELS:
                raise ValueError(f"pixel manifest: {row['path']}: label {row['label']!r} is neither 'real' nor 'fake'")
            members[row["pair_id"]][row["label"]].append(row["path"])
    pairs = []
    for pair_id, paths in sorted(members.items()):
        if len(paths["real"]) != 1 or len(paths["fake"]) != 1:
            raise ValueError(
                f"pixel manifest: pair {pair_id} in split '{split}' has {len(paths['real'])} real and "
                f"{len(paths['fake'])} fake images, expected one of each"
            )
        pairs.append(Pair(pair_id, paths["real"][0], paths["fake"][0]))
    return pairs


def splits_present(rows: Iterable[Mapping]) -> set[str]:
    return {row["split"] for row in rows}


class AugmentedPairs(Dataset):
    """Item `i` is `(crops, labels)`: the real and the fake crop of pair `i`, then those of
    its down- and up-resized copies when drawn (`augment.resized_copies_probability`), as a
    uint8 `(n, 3, crop, crop)` tensor with n = 2 or 6, labels `[0., 1.] * (n // 2)`. The
    draws of item `i` in epoch `e` come from `item_rng(seed, e, i)`, so they depend neither
    on the order items are read in nor on the number of DataLoader workers."""

    def __init__(self, pairs: list[Pair], load: Load, config: AugmentConfig, crop: int, seed: int):
        self.pairs, self.load, self.config, self.crop, self.seed = pairs, load, config, crop, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.pairs[index]
        rng = item_rng(self.seed, self.epoch, index)
        crops = augment_pair(self.load(pair.real_path), self.load(pair.fake_path), self.config, self.crop, rng)
        pixels = torch.from_numpy(np.stack([image for both in crops for image in both])).permute(0, 3, 1, 2).contiguous()
        return pixels, torch.tensor([LABELS["real"], LABELS["fake"]] * len(crops))


def collate_pairs(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of items flattened into one batch of images, each real next to its fake;
    items may hold different numbers of images."""
    return torch.cat([crops for crops, _ in items]), torch.cat([labels for _, labels in items])
