"""Branch scores of the evaluated images under every robustness condition, as the table
`summary.summarise` reads (one row per image and condition)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from PIL import Image

from aligngemini.evaluation.images import EvalImage

Condition = tuple[str, Callable[[Image.Image], Image.Image] | None]
BRANCHES = ("pixel", "semantic")


class BranchScorer(Protocol):
    def branch_scores(self, images: Sequence[Image.Image], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def score_conditions(
    scorer: BranchScorer,
    images: Sequence[EvalImage],
    load: Callable[[EvalImage], Image.Image],
    conditions: Sequence[Condition],
    batch_size: int,
    min_side: int,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Scores of every image under every condition, and per condition how many images a
    perturbation left below `min_side` (the smallest side both branches score): those are
    left out of that condition rather than scored on padding. `load` gives an image's
    pixels as evaluated (matched, before any perturbation)."""
    rows: list[dict] = []
    too_small = {name: 0 for name, _ in conditions}
    for batch in _batches(images, batch_size):
        originals = [load(image) for image in batch]
        for name, perturb in conditions:
            kept = [(image, perturb(pixels) if perturb else pixels) for image, pixels in zip(batch, originals)]
            scorable = [(image, pixels) for image, pixels in kept if min(pixels.size) >= min_side]
            too_small[name] += len(kept) - len(scorable)
            if not scorable:
                continue
            p_pixel, p_semantic = scorer.branch_scores([p for _, p in scorable], [i.path for i, _ in scorable])
            for (image, _), pixel, semantic in zip(scorable, p_pixel, p_semantic):
                rows.append({
                    "sha256": image.sha256, "path": image.path, "split": image.split, "label": image.label,
                    "generator": image.generator, "family": image.family, "condition": name,
                    "pixel": float(pixel), "semantic": float(semantic),
                })  # fmt: skip
    columns = ["sha256", "path", "split", "label", "generator", "family", "condition", *BRANCHES]
    return pd.DataFrame(rows, columns=columns), too_small
