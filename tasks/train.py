"""Prefect wrappers shared by the branch trainings: reading the one dataset a branch may
train on (a validated version only) and recording what was trained from what."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.records import TrainingRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.catalog.trainings import require_validated
from aligngemini.datasets.version import DATASET_SECTIONS, dvc_md5, git_rev, params_hash
from aligngemini.manifest import read_manifest
from aligngemini.model_registry import NoRegisteredModel, resolve_model
from aligngemini.project import Project
from aligngemini.training_outputs import folder_sha256
from tasks.runtime import current_flow_run_id, now_iso


@dataclass(frozen=True)
class TrainingData:
    name: str
    md5: str
    rows: list[dict]


@task(name="read-dataset", cache_policy=NO_CACHE)
def read_validated_dataset(project: Project, name: str) -> TrainingData:
    md5 = dvc_md5(project.dataset_manifest(name).parent)
    require_validated(project.catalog, name, md5)
    rows = read_manifest(project.dataset_manifest(name))
    get_run_logger().info("dataset %s version %s: %d samples", name, md5, len(rows))
    return TrainingData(name, md5, rows)


@task(name="warm-start", cache_policy=NO_CACHE)
def production_checkpoint(project: Project, branch: str) -> Path | None:
    """The production version's checkpoint of `branch` when `retrain.warm_start` asks for a
    warm start, else None (also when nothing is in production yet)."""
    if not project.params.retrain.warm_start:
        return None
    try:
        resolved = resolve_model(project, project.params.registry.gate.stage)
    except NoRegisteredModel as exc:
        get_run_logger().info("warm start asked, but cold start: %s", exc)
        return None
    get_run_logger().info("%s branch warm-starts from %s@%s", branch, resolved.name, resolved.version)
    return resolved.path / branch


@task(name="record-training", cache_policy=NO_CACHE)
def record_training(project: Project, branch: str, data: TrainingData, checkpoint: Path, metrics: Mapping, seconds: float) -> str:
    sha = folder_sha256(checkpoint)
    record = TrainingRecord(
        branch=branch, checkpoint_sha256=sha, checkpoint_path=checkpoint.relative_to(project.root).as_posix(),
        dataset=data.name, dataset_md5=data.md5, params_hash=params_hash(project.params, (*DATASET_SECTIONS, branch)), git_rev=git_rev(project.root),
        metrics=json.dumps(metrics, sort_keys=True, default=float), train_seconds=seconds, created_at=now_iso(),
        flow_run_id=current_flow_run_id(),
    )
    write_shard(project.staging, "trainings", [record.to_row()])
    get_run_logger().info("%s branch trained on %s@%s -> %s (sha256 %s)", branch, data.name, data.md5, checkpoint, sha[:16])
    return sha
