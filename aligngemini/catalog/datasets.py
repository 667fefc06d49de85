"""Read helpers over the dataset tables: versions and their composition."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from aligngemini.catalog.db import open_read_only

_VERSION_COLUMNS = ["name", "md5", "rows", "validation_success", "git_rev", "params_hash", "created_at", "flow_run_id", "validation"]


def dataset_versions(db: Path, name: str | None = None) -> list[dict]:
    """Every recorded version (newest first), of one dataset or of all."""
    if not Path(db).exists():
        return []
    where, params = ("WHERE name = ?", [name]) if name else ("", [])
    with closing(open_read_only(db)) as con:
        rows = con.execute(
            f"SELECT {', '.join(_VERSION_COLUMNS)} FROM datasets {where} ORDER BY created_at DESC, name", params
        ).fetchall()
    return [dict(zip(_VERSION_COLUMNS, row)) for row in rows]


def dataset_composition(db: Path, md5: str) -> list[dict]:
    """Samples per (split, label, generator) of one version (generator null for reals)."""
    with closing(open_read_only(db)) as con:
        rows = con.execute(
            """
            SELECT split, label, generator, count(*) AS samples
            FROM dataset_members WHERE dataset_md5 = ?
            GROUP BY ALL ORDER BY split, label, generator NULLS FIRST
            """,
            [md5],
        ).fetchall()
    return [dict(zip(["split", "label", "generator", "samples"], row)) for row in rows]
