"""Prefect wrappers of the registry: registering a candidate, scoring production on the
candidate's images, applying the gate's decision."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.records import ModelRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.evaluation.images import evaluation_images
from aligngemini.evaluation.scoring import score_conditions
from aligngemini.evaluation.summary import summarise
from aligngemini.fusion.detector import FusedDetector
from aligngemini.fusion.model_dir import read_model_info
from aligngemini.manifest import read_manifest
from aligngemini.model_registry.gate import CLEAN, FUSED, GateDecision, decide
from aligngemini.model_registry.register import apply_decision, register_version
from aligngemini.model_registry.resolve import keep_copy, resolve_model
from aligngemini.project import Project
from tasks.runtime import current_flow_run_id, now_iso


@task(name="register-candidate", cache_policy=NO_CACHE)
def register_candidate(project: Project, fused_dir: Path, metrics: Mapping) -> ModelRecord:
    rule = read_model_info(fused_dir).fusion_model.rule
    record = register_version(project, fused_dir, rule, metrics, created_at=now_iso(), flow_run_id=current_flow_run_id())
    write_shard(project.staging, "models", [record.to_row()])
    keep_copy(project, record.version, fused_dir)
    get_run_logger().info("registered %s@%s (commit %s)", record.name, record.version, record.commit[:12])
    return record


@task(name="score-baseline", cache_policy=NO_CACHE)
def score_baseline(project: Project, version: str) -> dict:
    """Metrics of `version` on the clean images the candidate was evaluated on, in the
    evaluation's layout (sets -> condition -> 'fused')."""
    resolved = resolve_model(project, version)
    detector = FusedDetector.load(resolved.path, project.root)
    images = [
        image
        for image in evaluation_images(read_manifest(project.manifest("real")), read_manifest(project.manifest("generated")), project.params.datasets)
        if image.split != "val"
    ]
    scores, _ = score_conditions(
        detector, images, project.load_image, [(CLEAN, None)], project.params.evaluation.batch_size, project.params.pixel.inference.min_side
    )
    scores[FUSED] = detector.fusion.p_fake(scores["pixel"], scores["semantic"])
    return {"sets": summarise(scores, [FUSED], project.params.evaluation.threshold).metrics}


@task(name="gate", cache_policy=NO_CACHE)
def gate(project: Project, version: str, metrics: Mapping, baseline: Mapping | None, baseline_version: str | None) -> GateDecision:
    decision = decide(metrics, baseline, project.params.registry.gate, baseline_version)
    record = apply_decision(
        project, version, decision.promoted, decision.reason, baseline_version, decided_at=now_iso(), flow_run_id=current_flow_run_id()
    )
    write_shard(project.staging, "model_decisions", [record.to_row()])
    get_run_logger().info("%s: %s", version, decision.reason)
    return decision
