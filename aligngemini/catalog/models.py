"""Read helpers over the registry tables: model versions, the trainings behind them and the
gate's decisions."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

from aligngemini.catalog.db import open_read_only

_MODEL_COLUMNS = [
    "name", "version", "commit", "artifact_md5", "fusion_rule", "pixel_checkpoint_sha256", "semantic_checkpoint_sha256",
    "pixel_dataset_md5", "semantic_dataset_md5", "params_hash", "params", "generators", "git_rev", "git_dirty", "metrics",
    "created_at", "flow_run_id",
]  # fmt: skip
_DECISION_COLUMNS = ["name", "version", "stage", "promoted", "reason", "baseline_version", "decided_at", "flow_run_id"]
_JSON_COLUMNS = ("params", "generators", "metrics")


def _select(db: Path, sql: str, params: list, columns: list[str]) -> list[dict]:
    if not Path(db).exists():
        return []
    with closing(open_read_only(db)) as con:
        rows = con.execute(sql, params).fetchall()
    found = [dict(zip(columns, row)) for row in rows]
    for row in found:
        for column in _JSON_COLUMNS:
            if column in row and row[column] is not None:
                row[column] = json.loads(row[column])
    return found


def model_versions(db: Path, name: str) -> list[dict]:
    """Registered versions of `name`, newest first."""
    return _select(db, f"SELECT {', '.join(_MODEL_COLUMNS)} FROM models WHERE name = ? ORDER BY created_at DESC, version DESC", [name], _MODEL_COLUMNS)


def model_version(db: Path, name: str, version: str) -> dict | None:
    found = _select(db, f"SELECT {', '.join(_MODEL_COLUMNS)} FROM models WHERE name = ? AND version = ?", [name, version], _MODEL_COLUMNS)
    return found[0] if found else None


def model_with_artifact(db: Path, name: str, artifact_md5: str) -> dict | None:
    """The version (and its commit) already recorded for these exact fused-model bytes, if any."""
    columns = ["version", "commit"]
    found = _select(db, "SELECT version, commit FROM models WHERE name = ? AND artifact_md5 = ? ORDER BY created_at", [name, artifact_md5], columns)
    return found[0] if found else None


def training_of(db: Path, branch: str, checkpoint_sha256: str) -> dict | None:
    """The recorded training that produced a branch checkpoint."""
    columns = ["dataset", "dataset_md5", "params_hash", "git_rev", "train_seconds"]
    found = _select(
        db, f"SELECT {', '.join(columns)} FROM trainings WHERE branch = ? AND checkpoint_sha256 = ?", [branch, checkpoint_sha256], columns
    )
    return found[0] if found else None


def trained_generators(db: Path, dataset_md5: str) -> list[str]:
    """Generators whose fakes are in the training split of a dataset version."""
    found = _select(
        db,
        "SELECT DISTINCT generator FROM dataset_members WHERE dataset_md5 = ? AND split = 'train' AND label = 'fake' "
        "AND generator IS NOT NULL ORDER BY generator",
        [dataset_md5],
        ["generator"],
    )
    return [row["generator"] for row in found]


def decisions(db: Path, name: str, version: str | None = None) -> list[dict]:
    """Gate decisions, newest first, of one version or of all."""
    where, params = ("AND version = ?", [name, version]) if version else ("", [name])
    return _select(
        db, f"SELECT {', '.join(_DECISION_COLUMNS)} FROM model_decisions WHERE name = ? {where} ORDER BY decided_at DESC", params, _DECISION_COLUMNS
    )
