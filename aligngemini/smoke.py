"""The smoke profile: the embedded profile's tiny models under the full profile's size rules,
in another precision and on another device, with few images and one epoch per branch.

The size rules are the ones the full profile's three crashes came from, kept exactly but at
SIDE px instead of 336 (bfloat16 is emulated, about ten times slower, on a CPU without
AVX-512): tiles as large as `semantic_size`, so a tile's native and resized reconstructions
are the same job; the full profile's resampling of the pixel pairs, with `validation.max_side`
and `pixel.inference.min_side` set to exactly the largest and smallest side it can make.

The bfloat16 CPU test (tests/test_dvc_pipeline.py) runs it end to end with `dvc repro`, beside
the embedded profile, so the precision plumbing, the profile switch and the size rules are
exercised without a GPU; `benchmarks/gpu_smoke.py` runs it on CUDA. Its outputs go under
`folder`, as the full profile's go under full/."""

from __future__ import annotations

import copy
from typing import Any

from aligngemini.datasets.align import resample_reach

SIDE = 96
TILE_STRIDE = 4 * SIDE  # a few tiles a photo: the rules need sizes, not many images
MAX_BOOTSTRAP_STEPS = 20
PLACED = ("generation", "reconstruction", "pixel", "semantic", "evaluation")
# a short prompt bank for `prompts_file`: four prompt groups give every split at least one
PROMPTS = ("a cat on a table", "a rocket at dawn", "a red flower", "a bowl of fruit")


def _models_under(value: Any, old: str, new: str) -> Any:
    """`value` with every model reference below `old` (generators, reconstructors, the VLM)
    moved below `new`, where this profile's bootstrap stage builds them."""
    if isinstance(value, dict):
        return {key: _models_under(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_models_under(item, old, new) for item in value]
    if isinstance(value, str) and value.startswith(f"{old}/"):
        return new + value[len(old) :]
    return value


def smoke_params(
    embedded: dict[str, Any], full: dict[str, Any], device: str, dtype: str, *, folder: str = "smoke", prompts_file: str | None = None
) -> dict[str, Any]:
    """The smoke profile as a params mapping, from the two profiles' mappings; `prompts_file`
    replaces the prompt bank (a short one keeps generation short)."""
    models = embedded["paths"]["models_root"]
    raw = _models_under(copy.deepcopy(embedded), models, f"{folder}/{models}")
    raw["paths"] = {key: f"{folder}/{path}" for key, path in embedded["paths"].items()}
    for key in ("path", "cache"):
        raw["registry"][key] = f"{folder}/{embedded['registry'][key]}"

    resampling = copy.deepcopy(full["datasets"]["pixel"])
    smallest, largest = resample_reach(SIDE, tuple(resampling["resample_down"]), tuple(resampling["resample_up"]))
    raw["datasets"]["pixel"] = resampling
    raw["ingest"].update(tile_size=SIDE, tile_stride=TILE_STRIDE)
    raw["reconstruction"]["semantic_size"] = SIDE
    raw["validation"]["max_side"] = largest
    raw["pixel"]["crop_size"] = SIDE
    raw["pixel"]["inference"]["min_side"] = smallest
    raw["evaluation"]["image_size"] = SIDE
    for generator in raw["generators"]:
        generator.update(resolution=SIDE, torch_dtype=dtype)
    for model in raw["bootstrap"]["models"]:
        model["train_steps"] = min(model["train_steps"], MAX_BOOTSTRAP_STEPS)
        if model["builder"] == "qwen2_5_vl":
            model["resolution"] = SIDE  # the VLM's processor sees what the semantic dataset holds

    for section in PLACED:
        raw[section]["device"] = device
        if section != "generation":
            raw[section]["dtype"] = dtype
    raw["pixel"]["gradient_checkpointing"] = True
    raw["generation"]["images_per_prompt"] = 1
    if prompts_file is not None:
        raw["generation"]["prompts_file"] = prompts_file
    raw["pixel"]["epochs"] = 1
    raw["semantic"]["train"]["epochs"] = 1
    raw["evaluation"]["perturbations"] = raw["evaluation"]["perturbations"][:2]  # jpeg 95 and 75 (a generalisation condition)
    return raw
