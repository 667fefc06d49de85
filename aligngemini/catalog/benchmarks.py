"""The benchmark tables of the catalog: the per-image score cache and one row per model and
benchmark run, which `aligngemini benchmark list` and model lineage read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from aligngemini.catalog.db import has_table, open_read_only

_RUN_COLUMNS = [
    "run_id", "name", "model_name", "model_version", "collection_fingerprint", "collections", "conditions", "metrics",
    "images", "errors", "report_dir", "created_at",
]  # fmt: skip
_JSON_COLUMNS = ("collections", "conditions", "metrics")


def cached_scores(db: Path, model: tuple[str, str], condition: str, sha256s: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """sha256 -> (p_fake, p_pixel, p_semantic) of the images in `sha256s` that `model`
    (name, version) has already scored under `condition`."""
    if not Path(db).exists() or not sha256s:
        return {}
    with closing(open_read_only(db)) as con:
        if not has_table(con, "benchmark_scores"):
            return {}
        rows = con.execute(
            """
            SELECT sha256, p_fake, p_pixel, p_semantic FROM benchmark_scores
            WHERE model_name = ? AND model_version = ? AND condition = ? AND list_contains(?, sha256)
            """,
            [*model, condition, list(sha256s)],
        ).fetchall()
    return {sha: (p_fake, p_pixel, p_semantic) for sha, p_fake, p_pixel, p_semantic in rows}


def benchmark_runs(db: Path, model: tuple[str, str] | None = None, with_metrics: bool = False) -> list[dict]:
    """Recorded benchmark results, newest first; only `model`'s (name, version) when given.
    Metrics (large) only `with_metrics`."""
    if not Path(db).exists():
        return []
    columns = [c for c in _RUN_COLUMNS if with_metrics or c != "metrics"]
    where, params = ("WHERE model_name = ? AND model_version = ?", list(model)) if model else ("", [])
    with closing(open_read_only(db)) as con:
        if not has_table(con, "benchmarks"):
            return []
        rows = con.execute(f"SELECT {', '.join(columns)} FROM benchmarks {where} ORDER BY created_at DESC, name, model_version", params).fetchall()
    found = [dict(zip(columns, row)) for row in rows]
    for row in found:
        for column in _JSON_COLUMNS:
            if column in row:
                row[column] = json.loads(row[column])
    return found
