"""Train-semantic flow: LoRA fine-tuning (peft) of the VLM named by `semantic.model` on the
validated semantic dataset only, never on the pixel one.

Writes the adapter (safetensors) to `models/trained/semantic/`, the loss curve and per-epoch
metrics (DVC plots) to `reports/semantic/steps.csv` and `epochs.csv`, the final validation
metrics (a DVC metric) to `reports/semantic/metrics.json`, and a `trainings` row to the
catalog naming the dataset version it was trained on.

    python -m flows.train_semantic [--params params.yaml]
"""

from __future__ import annotations

from pathlib import Path

import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from aligngemini.errors import AlignGeminiError
from aligngemini.generation.pipelines import resolve_model
from aligngemini.project import Project
from aligngemini.semantic.data import read_split
from aligngemini.semantic.model import load_vlm, save_adapter
from aligngemini.semantic.train import TrainResult, train
from aligngemini.training_outputs import write_metrics, write_plot_rows
from tasks.catalog import merge_catalog
from tasks.train import TrainingData, production_checkpoint, read_validated_dataset, record_training
from flows.cli_args import run_with_params

BRANCH = "semantic"


@task(name="train-semantic-vlm", cache_policy=NO_CACHE)
def train_vlm(project: Project, data: TrainingData, init: Path | None) -> TrainResult:
    cfg, manifest = project.params.semantic, project.dataset_manifest(data.name)
    torch.set_num_threads(cfg.threads)
    sets = {}
    for split in ("train", "val"):
        sets[split], problems = read_split(manifest, {split}, project.data_root, project.root, project.params.images)
        if problems:  # the validate stage saw every file; a problem now means the data changed since
            raise AlignGeminiError(f"{manifest}: {len(problems)} unreadable sample(s) in split '{split}', e.g. {problems[0]}")
    vlm = load_vlm(resolve_model(cfg.model, project.root), cfg.dtype, cfg.device, cfg.revision)
    return train(vlm, sets["train"], cfg, sets["val"], init_adapter=init)


@flow(name="train_semantic")
def train_semantic(params_path: str = "params.yaml") -> dict:
    project = Project.load(params_path)
    merge_catalog(project.catalog, project.staging)
    data = read_validated_dataset(project, BRANCH)
    result = train_vlm(project, data, production_checkpoint(project, BRANCH))
    checkpoint = project.checkpoint(BRANCH)
    save_adapter(result.vlm, checkpoint, base_model=project.params.semantic.model)
    # reports hold no timings, so two runs from scratch give identical DVC outputs; the
    # training time goes to the catalog
    write_plot_rows(project.reports / BRANCH / "steps.csv", result.steps)
    write_plot_rows(project.reports / BRANCH / "epochs.csv", result.epochs)
    metrics = {"val": result.metrics}
    write_metrics(project.reports / BRANCH / "metrics.json", metrics)
    record_training(project, BRANCH, data, checkpoint, metrics, result.seconds)
    merge_catalog(project.catalog, project.staging)
    return metrics


if __name__ == "__main__":
    run_with_params(train_semantic, __doc__)
