"""Fixtures of the pixel expert's tests: a small config and a synthetic pixel dataset.

The synthetic task mimics the real one: a real image is smooth content plus fine-grained
sensor-like noise; its fake is the same image through a lossy down/up "decoder", so the
two share content and differ only in high-frequency pixel traces."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

from aligngemini.pixel.config import PixelConfig
from aligngemini.pixel.train import TrainResult, train_pixel_expert


def pixel_config(**overrides: Any) -> PixelConfig:
    """A config small enough for 1-thread tests; `overrides` replace top-level keys
    (dicts are merged one level deep)."""
    raw: dict[str, Any] = {
        "backbone": {"name": "efficientnet_lite0", "pretrained": True, "options": {}},
        "crop_size": 32,
        "epochs": 6,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "weight_decay": 0.01,
        "warmup_fraction": 0.1,
        "seed": 0,
        "threads": 1,
        "num_workers": 0,
        "train_split": "train",
        "eval_splits": ["val", "test"],
        "eval_jpeg_quality": 75,
        "augment": {
            "paired": True,
            "pixel_mix_probability": 0.2, "pixel_mix_max_ratio": 0.8, "freq_mix_probability": 0.2, "freq_mix_max_ratio": 0.8,
            "resized_copies_probability": 0.25,
            "resample_probability": 0.3, "resample_down": [0.5, 1.0], "resample_up": [1.0, 2.0],
            "jpeg_probability": 0.1, "jpeg_quality": [85, 100],
            "blur_probability": 0.1, "blur_sigma": [0.0, 0.5],
            "hflip_probability": 0.5, "vflip_probability": 0.5,
            "jitter_probability": 0.2, "jitter_strength": 0.2,
        },
        "inference": {"grid": 2, "min_side": 24, "threshold": 0.5, "batch_size": 64},
    }  # fmt: skip
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    return PixelConfig.model_validate(raw)


def synthetic_pair(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    width, height = size
    content = Image.fromarray(rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)).resize(size, Image.BICUBIC)
    noisy = np.asarray(content).astype(np.int16) + rng.integers(-20, 21, (height, width, 3))
    real = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    fake = real.resize((width // 2, height // 2), Image.BILINEAR).resize(size, Image.BILINEAR)
    return real, fake


class MemoryImages(dict):
    """`load(path)` over images held in memory, standing in for the defensive loader."""

    def __call__(self, path: str) -> Image.Image:
        return self[path]


def synthetic_dataset(counts: dict[str, int], size: tuple[int, int] = (48, 48), seed: int = 0) -> tuple[list[dict], MemoryImages]:
    """Manifest rows and their images: `counts[split]` pairs per split."""
    rng = np.random.default_rng(seed)
    rows, images = [], MemoryImages()
    for split, count in counts.items():
        for index in range(count):
            pair_id = f"{split}-{index:03d}"
            for label, image in zip(("real", "fake"), synthetic_pair(rng, size)):
                path = f"data/synthetic/{label}/{pair_id}.png"
                images[path] = image
                rows.append({"path": path, "label": label, "split": split, "pair_id": pair_id})
    return rows, images


@pytest.fixture(scope="session")
def make_config() -> Callable[..., PixelConfig]:
    return pixel_config


@pytest.fixture(scope="session")
def make_dataset() -> Callable[..., tuple[list[dict], MemoryImages]]:
    return synthetic_dataset


@pytest.fixture(scope="session")
def synthetic() -> tuple[list[dict], MemoryImages]:
    return synthetic_dataset({"train": 36, "val": 12, "test": 6})


@pytest.fixture(scope="session")
def trained(synthetic) -> TrainResult:
    """One training run on the synthetic task, shared by the tests that inspect it."""
    rows, images = synthetic
    return train_pixel_expert(rows, images, pixel_config(), progress=False)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
