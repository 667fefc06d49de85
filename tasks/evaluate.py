"""Prefect wrappers of the evaluation: choosing the images, loading the branches, scoring."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.evaluation.images import EvalImage, EvalSelection, evaluation_images, matched
from aligngemini.evaluation.scoring import Condition, score_conditions
from aligngemini.fusion.detector import FusedDetector
from aligngemini.manifest import read_manifest
from aligngemini.project import Project


@task(name="evaluation-images", cache_policy=NO_CACHE)
def select_images(project: Project) -> EvalSelection:
    params = project.params
    families = {entry.name: entry.family for entry in params.reconstruction.reconstructors}
    families |= {entry.name: entry.family or entry.name for entry in params.generators}
    selection = evaluation_images(
        read_manifest(project.manifest("real")), read_manifest(project.manifest("generated")), read_manifest(project.manifest("reconstruction")),
        split_fractions=params.datasets.split_fractions, seed=params.datasets.seed,
        heldout_generators=params.datasets.heldout_generators, heldout_reconstructors=params.datasets.heldout_reconstructors,
        families=families, size=params.evaluation.image_size,
    )  # fmt: skip
    counts = pd.Series([f"{i.split}/{i.label}" for i in selection.images]).value_counts().sort_index().to_dict()
    get_run_logger().info("evaluation images: %s; %s", counts, selection.matching_text())
    return selection


@task(name="load-detector", cache_policy=NO_CACHE)
def load_detector(project: Project, model_dir: Path) -> FusedDetector:
    evaluation = project.params.evaluation
    return FusedDetector.load(model_dir, project.root, device=evaluation.device, dtype=evaluation.dtype)


@task(name="score-images", cache_policy=NO_CACHE)
def score_images(project: Project, detector: FusedDetector, images: Sequence[EvalImage], conditions: Sequence[Condition]) -> tuple[pd.DataFrame, dict[str, int]]:
    scores, too_small = score_conditions(
        detector, images, lambda image: matched(image, project.load_image(image.path)), conditions, project.params.evaluation.batch_size, project.params.pixel.inference.min_side
    )
    skipped = {name: count for name, count in too_small.items() if count}
    if skipped:
        get_run_logger().warning("left out, below %d px after the perturbation: %s", project.params.pixel.inference.min_side, skipped)
    return scores, too_small
