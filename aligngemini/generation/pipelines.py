"""Loading diffusers pipelines and calling them the same way whatever their architecture.

A pipeline is always loaded with `from_pretrained(model)`, whether `model` is a local
directory built by the bootstrap stage or a hub id: one code path for both profiles.
How a pipeline class is *called* (text prompts, or no conditioning) is data in the
`CONVENTIONS` registry, keyed by the class name."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import diffusers
import torch
from PIL import Image

from aligngemini.config import GeneratorEntry
from aligngemini.devices import autocast, resolve_device, torch_dtype
from aligngemini.errors import AlignGeminiError
from aligngemini.registry import Registry

Caller = Callable[[diffusers.DiffusionPipeline, GeneratorEntry, list[str], list[torch.Generator]], list[Image.Image]]


@dataclass(frozen=True)
class CallConvention:
    conditioning: str  # "text" or "none": recorded in the catalog's generators table
    call: Caller
    # float32 weights and samples with the compute under autocast in the entry's dtype, for a
    # pipeline that hands its last sample to numpy without a float cast (numpy has no bfloat16)
    autocast: bool = False


CONVENTIONS: Registry[CallConvention] = Registry("pipeline class")


def _text_to_image(**extra: object) -> Caller:
    def call(pipe, entry, prompts, generators):
        return pipe(
            prompt=prompts,
            num_inference_steps=entry.steps,
            guidance_scale=entry.guidance,
            height=entry.resolution,
            width=entry.resolution,
            generator=generators,
            output_type="pil",
            **extra,
        ).images

    return call


def _unconditional(pipe, entry, prompts, generators):
    return pipe(batch_size=len(prompts), generator=generators, num_inference_steps=entry.steps, output_type="pil").images


CONVENTIONS.register("StableDiffusionPipeline")(CallConvention("text", _text_to_image()))
# Resolution binning would snap small sizes to PixArt's 1024-px aspect bins and resize back;
# caption cleaning needs optional packages and would change prompts behind the catalog's back.
CONVENTIONS.register("PixArtAlphaPipeline")(
    CallConvention("text", _text_to_image(use_resolution_binning=False, clean_caption=False))
)
CONVENTIONS.register("DDPMPipeline")(CallConvention("none", _unconditional, autocast=True))
CONVENTIONS.register("StableDiffusionXLPipeline")(CallConvention("text", _text_to_image()))
# FLUX.1-schnell was distilled on 256 T5 tokens (the pipeline's default of 512 suits FLUX.1-dev)
CONVENTIONS.register("FluxPipeline")(CallConvention("text", _text_to_image(max_sequence_length=256)))


class GeneratorLoadError(AlignGeminiError):
    pass


def resolve_model(model: str, project_root: Path) -> str:
    """A model that names an existing local directory (relative to the project root) is
    loaded from there; anything else is passed on as a hub id."""
    local = project_root / model
    return str(local.resolve()) if local.is_dir() else model


_cache: dict[tuple, diffusers.DiffusionPipeline] = {}
_cache_lock = threading.Lock()


def load_pipeline(entry: GeneratorEntry, project_root: Path, device: str) -> diffusers.DiffusionPipeline:
    """Loaded once per process and kept (batch tasks of one generator share it): in the
    entry's `torch_dtype`, on `device` (resolved by `aligngemini.devices`), with its
    optional model offload and VAE tiling."""
    source = resolve_model(entry.model, project_root)
    place = resolve_device(device)
    key = (source, entry.revision, entry.pipeline, entry.torch_dtype, str(place), entry.cpu_offload, entry.vae_tiling)
    with _cache_lock:
        if key not in _cache:
            cls = diffusers.DiffusionPipeline if entry.pipeline == "auto" else getattr(diffusers, entry.pipeline, None)
            if cls is None:
                raise GeneratorLoadError(f"generator '{entry.name}': diffusers has no pipeline class '{entry.pipeline}'")
            try:
                pipe = cls.from_pretrained(source, revision=entry.revision, dtype=torch_dtype(entry.torch_dtype))
            except (OSError, ValueError) as exc:
                raise GeneratorLoadError(f"generator '{entry.name}': cannot load '{entry.model}': {exc}") from exc
            if convention_of(pipe, entry).autocast:  # also refuses an unsupported class before any work is queued
                pipe.to(dtype=torch.float32)
            _cache[key] = _placed(pipe, entry, place)
        return _cache[key]


def _placed(pipe: diffusers.DiffusionPipeline, entry: GeneratorEntry, place: torch.device) -> diffusers.DiffusionPipeline:
    if entry.vae_tiling:
        if getattr(pipe, "vae", None) is None:
            raise GeneratorLoadError(f"generator '{entry.name}': vae_tiling is set but {type(pipe).__name__} has no VAE")
        pipe.vae.enable_tiling()
    if entry.cpu_offload and place.type == "cuda":
        pipe.enable_model_cpu_offload(device=place)
    else:
        pipe.to(place)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def clear_pipeline_cache() -> None:
    """Forget loaded pipelines (benchmarks time a cold load on purpose)."""
    with _cache_lock:
        _cache.clear()


def convention_of(pipe: diffusers.DiffusionPipeline, entry: GeneratorEntry) -> CallConvention:
    name = type(pipe).__name__
    if name not in CONVENTIONS:
        raise GeneratorLoadError(
            f"generator '{entry.name}': pipeline class {name} has no call convention "
            f"(supported: {', '.join(CONVENTIONS.names())})"
        )
    return CONVENTIONS.get(name)


def run_pipeline(pipe: diffusers.DiffusionPipeline, entry: GeneratorEntry, prompts: Sequence[str], seeds: Sequence[int], batch_size: int) -> list[Image.Image]:
    """Images for (prompt, seed) pairs. The call is padded to `batch_size` by repeating the
    last pair, so every call has the same tensor shapes and an image's bytes never depend
    on which other images shared its batch (a resumed run reproduces a killed one)."""
    if not 0 < len(prompts) <= batch_size or len(prompts) != len(seeds):
        raise ValueError(f"need 1..{batch_size} prompts with one seed each, got {len(prompts)} and {len(seeds)}")
    pad = batch_size - len(prompts)
    padded_prompts = list(prompts) + [prompts[-1]] * pad
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in list(seeds) + [seeds[-1]] * pad]
    convention = convention_of(pipe, entry)
    with torch.inference_mode(), autocast(pipe.device, entry.torch_dtype) if convention.autocast else contextlib.nullcontext():
        images = convention.call(pipe, entry, padded_prompts, generators)
    return images[: len(prompts)]
