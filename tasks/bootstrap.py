"""Prefect wrapper of one bootstrap build (models are built in order: later ones load earlier ones)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.bootstrap.registry import BuildContext, build_model
from aligngemini.config import BootstrapModel
from aligngemini.project import Project


@task(name="build-model", cache_policy=NO_CACHE)
def build_model_task(project: Project, spec: BootstrapModel, tiles: Sequence[np.ndarray], captions: Sequence[str]) -> float:
    torch.set_num_threads(project.params.bootstrap.threads)
    start = time.perf_counter()
    out_dir = project.models_root / spec.name
    build_model(BuildContext(spec=spec, out_dir=out_dir, models_root=project.models_root, real_images=tiles, prompts=captions))
    seconds = time.perf_counter() - start
    get_run_logger().info("built %s (%s) in %.1f s -> %s", spec.name, spec.builder, seconds, out_dir)
    return seconds
