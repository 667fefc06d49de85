"""Tiny Qwen2.5-VL models built once per session by the bootstrap builder, and a synthetic,
learnable real/fake task: "real" images are crops of photographs, "fake" ones smooth colour
blobs (what a briefly trained generator makes), all 64x64 like the semantic dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data

from aligngemini.bootstrap import BuildContext, build_model
from aligngemini.config import BootstrapModel
from aligngemini.semantic.config import SemanticConfig

SIDE = 64
CAPTIONS = ["a photograph of a cat", "an astronaut in a white space suit", "a cup of coffee on a table"]
PROMPT = "Is this image real or AI-generated? Judge by semantic consistency only. Answer real or fake."
LM_LINEAR = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
_PHOTOS = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _build(root: Path, name: str, **options: Any) -> Path:
    spec = BootstrapModel(
        name=name, builder="qwen2_5_vl", resolution=SIDE, train_steps=0, batch_size=1, learning_rate=1e-3, seed=15,
        options=options,
    )  # fmt: skip
    build_model(BuildContext(spec=spec, out_dir=root / name, models_root=root, real_images=[], prompts=CAPTIONS))
    return root / name


@pytest.fixture(scope="session")
def vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("vlm"), "tiny-vlm")


@pytest.fixture(scope="session")
def build_vlm(tmp_path_factory: pytest.TempPathFactory):
    """Builds a variant into a fresh folder: build_vlm(name, **options) -> its directory."""
    return lambda name, **options: _build(tmp_path_factory.mktemp(name), name, **options)


def _real(rng: np.random.Generator) -> Image.Image:
    photo = _PHOTOS[rng.integers(len(_PHOTOS))]
    side = int(rng.integers(SIDE, min(photo.shape[:2])))
    top, left = rng.integers(0, photo.shape[0] - side + 1), rng.integers(0, photo.shape[1] - side + 1)
    return Image.fromarray(photo[top : top + side, left : left + side]).resize((SIDE, SIDE), Image.BICUBIC)


def _fake(rng: np.random.Generator) -> Image.Image:
    cells = int(rng.integers(3, 9))
    colours = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
    return Image.fromarray(colours).resize((SIDE, SIDE), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))


def synthetic_pairs(n: int, seed: int) -> list[tuple[Image.Image, str]]:
    """n (image, label) pairs, alternating real and fake."""
    rng = np.random.default_rng(seed)
    return [(_real(rng), "real") if i % 2 == 0 else (_fake(rng), "fake") for i in range(n)]


def semantic_config(**train: Any) -> SemanticConfig:
    """A recipe that learns the synthetic task in two short epochs; `train` overrides
    training fields."""
    return SemanticConfig.model_validate(
        {
            "model": "models/embedded/tiny-vlm",
            "dtype": "float32",
            "device": "cpu",
            "threads": 1,
            "prompt": PROMPT,
            "threshold": 0.5,
            "eval_batch_size": 16,
            "max_side": 448,
            "lora": {"rank": 8, "alpha": 16, "dropout": 0.0, "target_modules": LM_LINEAR, "modules_to_save": ["visual", "lm_head"]},
            "train": {
                "epochs": 2, "batch_size": 8, "grad_accumulation": 1, "learning_rate": 2e-3, "weight_decay": 0.0,
                "warmup_ratio": 0.1, "max_grad_norm": 1.0, "seed": 0, "gradient_checkpointing": False, "loader_workers": 0,
            } | train,  # fmt: skip
        }
    )


@pytest.fixture(scope="session")
def make_config():
    return semantic_config


@pytest.fixture(scope="session")
def make_pairs():
    return synthetic_pairs
