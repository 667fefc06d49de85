"""Preflight of a profile: what a run of its params needs that this machine may lack (models in
the local Hugging Face cache, disk, CUDA), checked before any stage, so that a full-profile run
stops in seconds with the reason instead of failing half an hour in."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import timm
import torch
from huggingface_hub import constants, scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from aligngemini.config import Params
from aligngemini.generation.prompts import load_prompts

OK, WARNING, PROBLEM = "ok", "warning", "problem"
GIB = 1024**3


@dataclass(frozen=True)
class Check:
    kind: str  # model, disk, cuda, stage
    item: str
    status: str  # OK, WARNING or PROBLEM
    detail: str


@dataclass(frozen=True)
class Machine:
    """What the checks read of the machine; tests pass their own."""

    hf_cache: Path
    offline: bool
    free_bytes: Callable[[Path], int]
    cuda: Callable[[], tuple[str, int] | None]  # (device name, total bytes) of GPU 0, or None

    @classmethod
    def this_one(cls) -> "Machine":
        return cls(Path(constants.HF_HUB_CACHE), constants.HF_HUB_OFFLINE, _free_bytes, _cuda)


def _free_bytes(path: Path) -> int:
    existing = next(p for p in (path, *path.parents) if p.exists())
    return shutil.disk_usage(existing).free


def _cuda() -> tuple[str, int] | None:
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return props.name, props.total_memory


class ModelRef(NamedTuple):
    who: str  # what needs it
    ref: str  # a directory relative to the project root, or a hub id
    revision: str | None  # the hub commit it is pinned to


def model_references(params: Params) -> list[ModelRef]:
    """Every model a run of `params` loads."""
    refs = [ModelRef(f"generator {g.name}", g.model, g.revision) for g in params.generators]
    refs += [ModelRef(f"reconstructor {r.name}", r.model, r.revision) for r in params.reconstruction.reconstructors]
    refs.append(ModelRef("semantic base", params.semantic.model, params.semantic.revision))
    backbone = params.pixel.backbone
    timm_name = backbone.options.get("model")
    if backbone.pretrained and isinstance(timm_name, str):
        hub_id = getattr(timm.models.get_pretrained_cfg(timm_name), "hf_hub_id", None) if timm.is_model(timm_name) else None
        refs.append(ModelRef(f"pixel backbone {timm_name}", hub_id or timm_name, backbone.options.get("revision")))
    return refs


@dataclass(frozen=True)
class CachedRepo:
    size: int
    revisions: frozenset[str]  # the commits it holds a snapshot of


def _cached_repos(cache: Path) -> dict[str, CachedRepo]:
    try:
        info = scan_cache_dir(cache)
    except CacheNotFound:
        return {}
    return {
        repo.repo_id: CachedRepo(repo.size_on_disk, frozenset(r.commit_hash for r in repo.revisions))
        for repo in info.repos if repo.repo_type == "model"
    }  # fmt: skip


def _hub_check(model: ModelRef, cached: dict[str, CachedRepo], machine: Machine) -> tuple[str, str]:
    repo = cached.get(model.ref)
    at = f" at {model.revision[:12]}" if model.revision else ""
    download = f"huggingface-cli download {model.ref}" + (f" --revision {model.revision}" if model.revision else "")
    if repo is not None and (model.revision is None or model.revision in repo.revisions):
        status, detail = OK, f"in the Hugging Face cache{at} ({repo.size / GIB:.1f} GiB)"
    elif machine.offline:
        held = "not" if repo is None else f"cached, but not{at}"
        status, detail = PROBLEM, f"{held} in the Hugging Face cache {machine.hf_cache}, and HF_HUB_OFFLINE is set: download it first ({download})"
    else:
        status, detail = WARNING, f"not in the Hugging Face cache {machine.hf_cache}{at}: the stage that loads it downloads it"
    if model.revision is None and status != PROBLEM:
        # unpinned, a later upload changes what a registered adapter or checkpoint meets
        status, detail = WARNING, f"{detail}; no revision: loads the hub's latest commit (pin it with `revision:`)"
    return status, detail


def check_models(params: Params, root: Path, machine: Machine) -> list[Check]:
    bootstrap = {model.name for model in params.bootstrap.models}
    models_root = (root / params.paths.models_root).resolve()
    cached = _cached_repos(machine.hf_cache)
    checks = []
    for model in model_references(params):
        local = (root / model.ref).resolve()
        if local.is_dir():
            status, detail = OK, f"local folder {model.ref}"
        elif local.parent == models_root and local.name in bootstrap:
            status, detail = OK, f"{model.ref}: built by the bootstrap stage"
        else:
            status, detail = _hub_check(model, cached, machine)
        checks.append(Check("model", f"{model.who}: {model.ref}", status, detail))
    return checks


def estimated_data_bytes(params: Params, root: Path) -> int:
    """An upper bound of what generate and reconstruct write: every generated image and its
    semantic reconstruction as uncompressed RGB (PNG is smaller); real tiles are not counted."""
    prompts_file = root / params.generation.prompts_file
    per_generator = (len(load_prompts(prompts_file)) if prompts_file.is_file() else 0) * params.generation.images_per_prompt
    semantic_side = params.reconstruction.semantic_size
    return sum(per_generator * (g.resolution**2 + semantic_side**2) * 3 for g in params.generators)


def check_disk(params: Params, root: Path, machine: Machine) -> Check:
    data_root = root / params.paths.data_root
    need, free = estimated_data_bytes(params, root), machine.free_bytes(data_root)
    detail = f"about {need / GIB:.3f} GiB needed for generated images and reconstructions (an upper bound), {free / GIB:.1f} GiB free at {data_root}"
    return Check("disk", "data root", OK if free >= need else PROBLEM, detail)


def stage_devices(params: Params) -> dict[str, tuple[str, str]]:
    """The (device, dtype) each model-running stage asks for with these params (generation:
    the dtypes of its generators)."""
    dtypes = ",".join(sorted({g.torch_dtype for g in params.generators})) or "-"
    return {
        "generate": (params.generation.device, dtypes),
        "reconstruct": (params.reconstruction.device, params.reconstruction.dtype),
        "train_pixel": (params.pixel.device, params.pixel.dtype),
        "train_semantic": (params.semantic.device, params.semantic.dtype),
        "evaluate": (params.evaluation.device, params.evaluation.dtype),
    }


def check_cuda(params: Params, machine: Machine) -> list[Check]:
    gpu = machine.cuda()
    checks = [Check("cuda", "GPU 0", OK if gpu else WARNING, f"{gpu[0]}, {gpu[1] / GIB:.0f} GiB" if gpu else "no CUDA device: every stage runs on the CPU")]
    for stage, (device, dtype) in stage_devices(params).items():
        if device.startswith("cuda") and gpu is None:
            checks.append(Check("stage", stage, PROBLEM, f"set to {device} ({dtype}), but this machine has no CUDA device"))
        elif device == "auto" and gpu is None:
            checks.append(Check("stage", stage, WARNING, f"auto ({dtype}): no CUDA device, runs on the CPU"))
        else:
            on_gpu = device.startswith("cuda") or device == "auto"
            checks.append(Check("stage", stage, OK, f"runs on {'the GPU' if on_gpu else 'the CPU'} ({device}, {dtype})"))
    return checks


def preflight(params: Params, root: Path, machine: Machine | None = None) -> list[Check]:
    machine = machine or Machine.this_one()
    return [*check_models(params, root, machine), check_disk(params, root, machine), *check_cuda(params, machine)]
