"""Train-pixel flow: the pixel-artifact expert (a `timm` backbone from the `pixel.backbone`
registry entry) trained on the validated pixel dataset only, never on the semantic one.

Writes the checkpoint (safetensors + JSON config) to `models/trained/pixel/`, per-epoch
metrics (a DVC plot) to `reports/pixel/history.csv`, the final validation metrics (a DVC
metric) to `reports/pixel/metrics.json`, and a `trainings` row to the catalog naming the
dataset version it was trained on.

    python -m flows.train_pixel [--params params.yaml]
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from aligngemini.pixel.checkpoint import load_checkpoint, save_checkpoint
from aligngemini.pixel.train import TrainResult, train_pixel_expert
from aligngemini.project import Project
from aligngemini.training_outputs import write_metrics, write_plot_rows
from tasks.catalog import merge_catalog
from tasks.train import TrainingData, production_checkpoint, read_validated_dataset, record_training
from flows.cli_args import run_with_params

BRANCH = "pixel"


@task(name="train-pixel-expert", cache_policy=NO_CACHE)
def train_expert(project: Project, data: TrainingData, init: Path | None) -> TrainResult:
    expert = load_checkpoint(init)[0] if init is not None else None
    return train_pixel_expert(data.rows, project.load_image, project.params.pixel, init=expert)


@flow(name="train_pixel")
def train_pixel(params_path: str = "params.yaml") -> dict:
    project = Project.load(params_path)
    merge_catalog(project.catalog, project.staging)
    data = read_validated_dataset(project, BRANCH)
    start = time.perf_counter()
    result = train_expert(project, data, production_checkpoint(project, BRANCH))
    seconds = time.perf_counter() - start
    checkpoint = project.checkpoint(BRANCH)
    save_checkpoint(result.expert, project.params.pixel, checkpoint)
    # reports hold no timings, so two runs from scratch give identical DVC outputs; the
    # training time goes to the catalog
    write_plot_rows(project.reports / BRANCH / "history.csv", result.history)
    write_metrics(project.reports / BRANCH / "metrics.json", result.metrics)
    record_training(project, BRANCH, data, checkpoint, result.metrics, seconds)
    merge_catalog(project.catalog, project.staging)
    return result.metrics


if __name__ == "__main__":
    run_with_params(train_pixel, __doc__)
