"""Shared fixtures: a small image and a synthetic scores table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from PIL import Image

DETECTORS = ["pixel", "semantic", "fused"]


@pytest.fixture
def detectors() -> list[str]:
    """The detector columns of `scores_table`."""
    return list(DETECTORS)


@pytest.fixture
def photo() -> Image.Image:
    """A 64x48 RGB image with texture (noise on a gradient), so every perturbation changes it."""
    rng = np.random.default_rng(0)
    gradient = np.linspace(0, 200, 64)[None, :, None] + np.zeros((48, 64, 3))
    pixels = np.clip(gradient + rng.normal(0, 25, gradient.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def score_rows(label: str, split: str, generator: str | None, count: int, scores: dict[str, float], conditions=("clean",), family: str | None = None) -> list[dict]:
    return [
        {"sha256": f"{label}-{split}-{generator}-{i}", "split": split, "label": label, "generator": generator, "family": family or generator, "condition": condition, **scores}
        for i in range(count)
        for condition in conditions
    ]


@pytest.fixture
def scores_table() -> Callable[..., pd.DataFrame]:
    """Factory of a table with 4 reals (test split), 3 fakes of gen-a and 2 of gen-b
    (test split), 5 of the held-out generator gen-h (family fam-h) and 3 of the held-out
    reconstructor rec-r (family fam-r), under `conditions`.

    'pixel' is perfect everywhere; 'semantic' catches the test fakes but misses every
    held-out fake; 'fused' calls every image fake (real accuracy 0)."""

    def factory(conditions=("clean", "jpeg_q50"), hostile: str | None = None) -> pd.DataFrame:
        rows = (
            score_rows("real", "test", None, 4, {"pixel": 0.1, "semantic": 0.2, "fused": 0.9}, conditions)
            + score_rows("fake", "test", hostile or "gen-a", 3, {"pixel": 0.9, "semantic": 0.8, "fused": 0.9}, conditions)
            + score_rows("fake", "test", "gen-b", 2, {"pixel": 0.8, "semantic": 0.7, "fused": 0.9}, conditions)
            + score_rows("fake", "heldout_generators", "gen-h", 5, {"pixel": 0.7, "semantic": 0.1, "fused": 0.9}, conditions, "fam-h")
            + score_rows("fake", "heldout_reconstructors", "rec-r", 3, {"pixel": 0.6, "semantic": 0.3, "fused": 0.9}, conditions, "fam-r")
        )
        return pd.DataFrame(rows)

    return factory
