"""Prefect wrappers of the registry: registering a candidate, production's metrics on the
candidate's images, applying the gate's decision."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.shards import write_shard
from aligngemini.evaluation.summary import summarise
from aligngemini.fusion.detector import FusedDetector
from aligngemini.fusion.model_dir import read_model_info
from aligngemini.model_registry.gate import FUSED, GateDecision, decide
from aligngemini.model_registry.register import Registration, apply_decision, register_fused
from aligngemini.project import Project
from tasks.runtime import current_flow_run_id, now_iso


@task(name="register-candidate", cache_policy=NO_CACHE)
def register_candidate(project: Project, fused_dir: Path, artifact_md5: str, metrics: Mapping) -> Registration:
    rule = read_model_info(fused_dir).fusion_model.rule
    done = register_fused(project, fused_dir, artifact_md5, rule, metrics, created_at=now_iso(), flow_run_id=current_flow_run_id())
    logger = get_run_logger()
    if done.registered:
        logger.info("registered %s@%s (commit %s)", done.name, done.version, done.commit[:12])
    elif done.repaired:
        logger.warning("%s@%s: a run that stopped early left undone: %s; done now", done.name, done.version, ", ".join(done.repaired))
    return done


@task(name="baseline-metrics", cache_policy=NO_CACHE)
def baseline_metrics(project: Project, detector: FusedDetector, scores: pd.DataFrame) -> dict:
    """Metrics of the baseline's own fusion on its branch `scores` (clean images), in the
    evaluation's layout (sets -> condition -> 'fused')."""
    fused = scores.assign(**{FUSED: detector.fusion.p_fake(scores["pixel"], scores["semantic"])})
    return {"sets": summarise(fused, [FUSED], project.params.evaluation.threshold).metrics}


@task(name="gate", cache_policy=NO_CACHE)
def gate(project: Project, version: str, metrics: Mapping, baseline: Mapping | None, baseline_version: str | None) -> GateDecision:
    decision = decide(metrics, baseline, project.params.registry.gate, baseline_version, version)
    record = apply_decision(
        project, version, decision.promoted, decision.reason, baseline_version, decided_at=now_iso(), flow_run_id=current_flow_run_id()
    )
    write_shard(project.staging, "model_decisions", [record.to_row()])
    get_run_logger().info("%s: %s", version, decision.reason)
    return decision
