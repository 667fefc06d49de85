"""The smoke profile: the embedded profile's tiny models at the full profile's sizes, in
another precision and on another device, with few images and one epoch per branch.

It is what the bfloat16 CPU test (tests/test_dvc_pipeline.py) runs end to end with
`dvc repro`, so that the precision plumbing, the profile switch and the size rules the full
profile relies on (336 px tiles equal to `semantic_size`, resampling bounded by validation and
the pixel expert's minimum side) are exercised without a GPU; `benchmarks/gpu_smoke.py` runs
the same on CUDA. Its outputs go under `folder`, as the full profile's go under full/."""

from __future__ import annotations

import copy
from typing import Any

# dotted keys taken from the full profile as they are
FULL_SIZES = (
    "ingest.tile_size", "ingest.tile_stride", "reconstruction.semantic_size", "datasets.pixel",
    "validation.max_side", "pixel.crop_size", "pixel.augment", "pixel.inference.min_side",
)  # fmt: skip
PLACED = ("generation", "reconstruction", "pixel", "semantic", "evaluation")
MAX_BOOTSTRAP_STEPS = 20


def _parent(raw: dict, dotted: str) -> tuple[dict, str]:
    *path, last = dotted.split(".")
    for part in path:
        raw = raw[part]
    return raw, last


def smoke_params(embedded: dict[str, Any], full: dict[str, Any], device: str, dtype: str, folder: str = "smoke") -> dict[str, Any]:
    """The smoke profile as a params mapping, from the two profiles' mappings."""
    raw = copy.deepcopy(embedded)
    raw["paths"] = {key: f"{folder}/{path}" for key, path in embedded["paths"].items()}
    for key in ("path", "cache"):
        raw["registry"][key] = f"{folder}/{embedded['registry'][key]}"
    for dotted in FULL_SIZES:
        source, key = _parent(full, dotted)
        target, _ = _parent(raw, dotted)
        target[key] = copy.deepcopy(source[key])
    for section in PLACED:
        raw[section]["device"] = device
        if section != "generation":
            raw[section]["dtype"] = dtype
    for generator in raw["generators"]:
        generator["torch_dtype"] = dtype
    raw["pixel"]["gradient_checkpointing"] = True
    for model in raw["bootstrap"]["models"]:
        model["train_steps"] = min(model["train_steps"], MAX_BOOTSTRAP_STEPS)
    raw["generation"]["images_per_prompt"] = 1
    raw["pixel"]["epochs"] = 1
    raw["semantic"]["train"]["epochs"] = 1
    raw["evaluation"]["perturbations"] = raw["evaluation"]["perturbations"][:1]
    return raw
