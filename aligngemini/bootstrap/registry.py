"""Bootstrap builders: each trains one small local model and saves it with `save_pretrained`,
so later stages load it with the same `from_pretrained` call that takes a hub id."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from aligngemini.config import BootstrapModel
from aligngemini.folders import swap_in
from aligngemini.registry import Registry


@dataclass(frozen=True)
class BuildContext:
    spec: BootstrapModel
    out_dir: Path  # models_root / spec.name; the builder writes a save_pretrained dir here
    models_root: Path  # where earlier-built models live (spec.options["vae"] names one)
    real_images: Sequence[np.ndarray]  # uint8 HxWx3 RGB real photo tiles
    prompts: Sequence[str]  # caption corpus: tokenizer vocabulary and training captions


Builder = Callable[[BuildContext], None]
BUILDERS: Registry[Builder] = Registry("bootstrap builder")


def build_model(ctx: BuildContext) -> None:
    """Run the spec's builder into a temporary directory beside `out_dir`, then swap it in.

    A killed or failed build never leaves a half-written `out_dir`: an earlier complete model
    stays in place until the new one is complete. Leftover temporaries of a killed build of
    the same name are removed first (one build per name at a time)."""
    builder = BUILDERS.get(ctx.spec.builder)
    out_dir = Path(ctx.out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out_dir.name}."
    for stale in [*out_dir.parent.glob(f"{prefix}building-*"), *out_dir.parent.glob(f"{prefix}retired-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    staging = out_dir.parent / f"{prefix}building-{uuid.uuid4().hex}"
    staging.mkdir()  # not mkdtemp: its 0700 mode would stick to the final directory
    try:
        with torch.random.fork_rng(devices=[]):  # weights init from spec.seed, caller's RNG untouched
            torch.manual_seed(ctx.spec.seed)
            builder(replace(ctx, out_dir=staging))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, out_dir)
