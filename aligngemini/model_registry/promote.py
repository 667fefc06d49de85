"""Promotion asked for by a person (`aligngemini models promote`), through the same gate."""

from __future__ import annotations

from datetime import datetime, timezone

from aligngemini.catalog.db import Catalog
from aligngemini.catalog.models import model_version
from aligngemini.catalog.shards import write_shard
from aligngemini.model_registry.gate import GateDecision, decide
from aligngemini.model_registry.register import apply_decision
from aligngemini.model_registry.resolve import version_of
from aligngemini.model_registry.tags import RegistryError, stage_version
from aligngemini.project import Project


def promote(project: Project, spec: str, force: bool = False) -> tuple[str, GateDecision]:
    """Gate version `spec` against the stage's current version, on the metrics each recorded
    at its registration (the automatic gate re-scores production on the candidate's own
    images; here both figures come from the catalog). `force` promotes even when the gate
    refuses, e.g. to roll back; the decision row says so."""
    config = project.params.registry
    version = version_of(project, spec)
    current = stage_version(project.root, config.artifact, config.gate.stage)
    if current == version:
        return version, GateDecision(True, f"{version} is already in {config.gate.stage}")
    candidate = model_version(project.catalog, config.artifact, version)
    if candidate is None:
        raise RegistryError(f"{config.artifact}@{version} has no row in the catalog {project.catalog}: it was not registered by the register flow")
    baseline = model_version(project.catalog, config.artifact, current) if current else None
    decision = decide(candidate["metrics"], baseline["metrics"] if baseline else None, config.gate, current)
    if force and not decision.promoted:
        decision = GateDecision(True, f"forced by hand over the gate, which said: {decision.reason}")
    now = datetime.now(timezone.utc).isoformat()
    record = apply_decision(project, version, decision.promoted, decision.reason, current, decided_at=now, flow_run_id=None)
    write_shard(project.staging, "model_decisions", [record.to_row()])
    with Catalog(project.catalog) as catalog:
        catalog.merge_staging(project.staging)
    return version, decision
