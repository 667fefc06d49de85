"""Fixtures of the fusion tests: the session's tiny fused model loaded once, and synthetic
branch scores where each branch catches a different half of the fakes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from aligngemini.config import load_params
from aligngemini.fusion.config import FusionConfig


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def detector(fused_project):
    from aligngemini.fusion.detector import FusedDetector

    return FusedDetector.load(fused_project.model_dir, fused_project.root)


@pytest.fixture(scope="session")
def fusion_config() -> FusionConfig:
    """The repository's fusion params."""
    from tests.conftest import ROOT

    return load_params(ROOT / "params.yaml").fusion


def complementary_scores(n_real: int, n_fake: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_pixel, p_semantic, labels): reals are low on both branches; half the fakes are
    high on the pixel branch only, the other half on the semantic branch only."""
    rng = np.random.default_rng(seed)
    low = lambda n: rng.uniform(0.01, 0.25, n)  # noqa: E731
    high = lambda n: rng.uniform(0.75, 0.99, n)  # noqa: E731
    half = n_fake // 2
    p_pixel = np.concatenate([low(n_real), high(half), low(n_fake - half)])
    p_semantic = np.concatenate([low(n_real), low(half), high(n_fake - half)])
    labels = np.array(["real"] * n_real + ["fake"] * n_fake)
    return p_pixel, p_semantic, labels


@pytest.fixture(scope="session")
def make_scores() -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return complementary_scores
