"""Registering a fused model folder as a new version, and recording the gate's decisions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from aligngemini.catalog.models import trained_generators, training_of
from aligngemini.catalog.records import ModelDecisionRecord, ModelRecord
from aligngemini.datasets.version import git_rev, params_hash
from aligngemini.model_registry import tags
from aligngemini.model_registry.tags import RegistryError
from aligngemini.project import Project
from aligngemini.training_outputs import folder_sha256

# What a fused model depends on besides its inputs' own sections (recorded with each version).
MODEL_SECTIONS = ("generators", "datasets", "pixel", "semantic", "fusion", "evaluation")
BRANCHES = ("pixel", "semantic")


def register_version(
    project: Project, fused_dir: Path, artifact_md5: str, fusion_rule: str, metrics: Mapping, *, created_at: str, flow_run_id: str | None
) -> ModelRecord:
    """Tag a version commit for the fused model in `fused_dir` (DVC md5 `artifact_md5`; GTO), give it the candidate
    stage, and return its catalog row. Each branch checkpoint must come from a recorded
    training: that is how the version is tied to its dataset versions."""
    config = project.params.registry
    checkpoints, trainings = {}, {}
    for branch in BRANCHES:
        checkpoints[branch] = folder_sha256(fused_dir / branch)
        trainings[branch] = training_of(project.catalog, branch, checkpoints[branch])
        if trainings[branch] is None:
            raise RegistryError(
                f"{fused_dir / branch}: no recorded {branch} training produced this checkpoint "
                f"(sha256 {checkpoints[branch][:16]}); run the train_{branch} stage"
            )
    head = git_rev(project.root)
    commit = tags.version_commit(project.root, config.author, config.author_email, f"Register {config.artifact} from {head or 'no commit'}")
    version = tags.register(project.root, config.artifact, commit, config.author, config.author_email)
    tags.assign(project.root, config.artifact, version, config.gate.candidate_stage, config.author, config.author_email)
    return ModelRecord(
        name=config.artifact, version=version, commit=commit, artifact_md5=artifact_md5, fusion_rule=fusion_rule,
        pixel_checkpoint_sha256=checkpoints["pixel"], semantic_checkpoint_sha256=checkpoints["semantic"],
        pixel_dataset_md5=trainings["pixel"]["dataset_md5"], semantic_dataset_md5=trainings["semantic"]["dataset_md5"],
        params_hash=params_hash(project.params, MODEL_SECTIONS),
        params=json.dumps(project.params.model_dump(mode="json", include=set(MODEL_SECTIONS)), sort_keys=True),
        generators=json.dumps(trained_generators(project.catalog, trainings["semantic"]["dataset_md5"])),
        git_rev=head, metrics=json.dumps(metrics, sort_keys=True), created_at=created_at, flow_run_id=flow_run_id,
    )  # fmt: skip


def apply_decision(
    project: Project, version: str, promoted: bool, reason: str, baseline_version: str | None, *, decided_at: str, flow_run_id: str | None
) -> ModelDecisionRecord:
    """Move the gated stage to `version` when promoted; the decision row either way."""
    config = project.params.registry
    if promoted:
        tags.assign(project.root, config.artifact, version, config.gate.stage, config.author, config.author_email)
    return ModelDecisionRecord(
        name=config.artifact, version=version, stage=config.gate.stage, promoted=promoted, reason=reason,
        baseline_version=baseline_version, decided_at=decided_at, flow_run_id=flow_run_id,
    )  # fmt: skip
