"""Prefect wrappers of the evaluation: choosing the images, loading the branches, scoring."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.evaluation.images import EvalImage, evaluation_images
from aligngemini.evaluation.scoring import Condition, score_conditions
from aligngemini.fusion.detector import FusedDetector
from aligngemini.manifest import read_manifest
from aligngemini.project import Project


@task(name="evaluation-images", cache_policy=NO_CACHE)
def select_images(project: Project) -> list[EvalImage]:
    images = evaluation_images(read_manifest(project.manifest("real")), read_manifest(project.manifest("generated")), project.params.datasets)
    counts = pd.Series([f"{i.split}/{i.label}" for i in images]).value_counts().sort_index().to_dict()
    get_run_logger().info("evaluation images: %s", counts)
    return images


@task(name="load-detector", cache_policy=NO_CACHE)
def load_detector(project: Project, model_dir: Path) -> FusedDetector:
    return FusedDetector.load(model_dir, project.root)


@task(name="score-images", cache_policy=NO_CACHE)
def score_images(project: Project, detector: FusedDetector, images: Sequence[EvalImage], conditions: Sequence[Condition]) -> tuple[pd.DataFrame, dict[str, int]]:
    scores, too_small = score_conditions(
        detector, images, project.load_image, conditions, project.params.evaluation.batch_size, project.params.pixel.inference.min_side
    )
    skipped = {name: count for name, count in too_small.items() if count}
    if skipped:
        get_run_logger().warning("left out, below %d px after the perturbation: %s", project.params.pixel.inference.min_side, skipped)
    return scores, too_small
