"""Registering a fused model folder as a version, and recording the gate's decisions.

Registration is idempotent and survives a kill at any point: the same fused bytes always get
the same version. A version lives in two places, its GTO tag (which names the bytes' md5)
and its catalog row; each call looks in both and makes whatever side is missing, so a run
that died between the tag and the row is finished by the next one instead of registering
the bytes again under a new version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aligngemini.catalog.models import model_with_artifact, trained_generators, training_of
from aligngemini.catalog.records import ModelDecisionRecord, ModelRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.datasets.version import params_hash
from aligngemini.model_registry import tags
from aligngemini.model_registry.resolve import cached_path, keep_copy
from aligngemini.model_registry.tags import RegistryError, VersionCommit
from aligngemini.project import Project
from aligngemini.training_outputs import folder_sha256

# What a fused model depends on besides its inputs' own sections (recorded with each version).
MODEL_SECTIONS = ("generators", "datasets", "pixel", "semantic", "fusion", "evaluation")
BRANCHES = ("pixel", "semantic")


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    commit: str
    registered: bool  # this call made the version
    repaired: tuple[str, ...]  # what an earlier run that died left undone, done by this call


def register_fused(
    project: Project, fused_dir: Path, artifact_md5: str, fusion_rule: str, metrics: Mapping, *, created_at: str, flow_run_id: str | None
) -> Registration:
    """The version of the fused model in `fused_dir` (DVC md5 `artifact_md5`), registered now
    if neither GTO's tags nor the catalog know these bytes: a version commit, its tag, the
    candidate stage, the catalog row (as a staging shard) and the registry's local copy, in
    that order. Call it with the staging shards merged, as the register flow does."""
    config = project.params.registry
    root, name = project.root, config.artifact
    tagged = tags.version_with_artifact(root, name, artifact_md5)
    recorded = model_with_artifact(project.catalog, name, artifact_md5)
    fresh = tagged is None and recorded is None
    done: list[str] = []
    if fresh:
        made = tags.version_commit(root, config.author, config.author_email, f"Register {name} ({artifact_md5})")
        version = tags.register(root, name, made.commit, artifact_md5, config.author, config.author_email)
        tagged = {"version": version, "commit": made.commit, "assigned": False}
    elif tagged is None:
        if not tags.has_commit(root, recorded["commit"]):
            raise RegistryError(
                f"the catalog {project.catalog} records {name}@{recorded['version']} at commit {recorded['commit'][:12]}, "
                f"which {root} lacks: fetch the tags of the clone that registered it (`git fetch --tags`)"
            )
        tags.register(root, name, recorded["commit"], artifact_md5, config.author, config.author_email, version=recorded["version"])
        tagged = tags.version_with_artifact(root, name, artifact_md5)  # its stage tags may have outlived it
        done.append("tag")
    elif recorded is not None and recorded["version"] != tagged["version"]:
        raise RegistryError(
            f"these fused bytes ({artifact_md5}) are {name}@{tagged['version']} in the git tags but "
            f"{recorded['version']} in the catalog {project.catalog}: one of them was edited by hand"
        )
    version, commit = tagged["version"], tagged["commit"]
    if not tagged["assigned"]:
        tags.assign(root, name, version, config.gate.candidate_stage, config.author, config.author_email)
        done.append(f"{config.gate.candidate_stage} stage")
    if recorded is None:
        record = _record(project, fused_dir, tags.describe(root, commit), version, artifact_md5, fusion_rule, metrics, created_at, flow_run_id)
        write_shard(project.staging, "models", [record.to_row()])
        done.append("catalog row")
    if not (cached_path(project, version) / "model.json").is_file():
        keep_copy(project, version, fused_dir)
        done.append("local copy")
    return Registration(name, version, commit, fresh, () if fresh else tuple(done))


def _record(
    project: Project, fused_dir: Path, made: VersionCommit, version: str, artifact_md5: str, fusion_rule: str, metrics: Mapping,
    created_at: str, flow_run_id: str | None,
) -> ModelRecord:  # fmt: skip
    """The catalog row of a version. Each branch checkpoint must come from a recorded training:
    that is how the version is tied to its dataset versions."""
    checkpoints, trainings = {}, {}
    for branch in BRANCHES:
        checkpoints[branch] = folder_sha256(fused_dir / branch)
        trainings[branch] = training_of(project.catalog, branch, checkpoints[branch])
        if trainings[branch] is None:
            raise RegistryError(
                f"{fused_dir / branch}: no recorded {branch} training produced this checkpoint "
                f"(sha256 {checkpoints[branch][:16]}); run the train_{branch} stage"
            )
    return ModelRecord(
        name=project.params.registry.artifact, version=version, commit=made.commit, artifact_md5=artifact_md5, fusion_rule=fusion_rule,
        pixel_checkpoint_sha256=checkpoints["pixel"], semantic_checkpoint_sha256=checkpoints["semantic"],
        pixel_dataset_md5=trainings["pixel"]["dataset_md5"], semantic_dataset_md5=trainings["semantic"]["dataset_md5"],
        params_hash=params_hash(project.params, MODEL_SECTIONS),
        params=json.dumps(project.params.model_dump(mode="json", include=set(MODEL_SECTIONS)), sort_keys=True),
        generators=json.dumps(trained_generators(project.catalog, trainings["semantic"]["dataset_md5"])),
        git_rev=made.head, git_dirty=bool(made.changed), metrics=json.dumps(metrics, sort_keys=True), created_at=created_at,
        flow_run_id=flow_run_id,
    )  # fmt: skip


def apply_decision(
    project: Project, version: str, promoted: bool, reason: str, baseline_version: str | None, *, decided_at: str, flow_run_id: str | None
) -> ModelDecisionRecord:
    """Move the gated stage to `version` when promoted (unless a run that died already did);
    the decision row either way."""
    config = project.params.registry
    if promoted and tags.stage_version(project.root, config.artifact, config.gate.stage) != version:
        tags.assign(project.root, config.artifact, version, config.gate.stage, config.author, config.author_email)
    return ModelDecisionRecord(
        name=config.artifact, version=version, stage=config.gate.stage, promoted=promoted, reason=reason,
        baseline_version=baseline_version, decided_at=decided_at, flow_run_id=flow_run_id,
    )  # fmt: skip
