"""Lineage queries over the catalog: where a model, an image or a generator came from and
what it went into.

A generator's images are the rows it made itself: kind 'generated', its name as
`generator`, no parent. Dataset-derived copies of them (kind 'generated' too, with a
transform) and their reconstructions are descendants: a generated image "reaches" a
dataset version when the version holds it or any image below it. Counts are of distinct
generated images, never of dataset members; they come from `dataset_generators`, which
each merge fills once per dataset version (`db.fill_dataset_generators`).

Every function attaches the catalog read-only and detaches it before returning; timestamps
come back as ISO-8601 UTC strings and JSON columns parsed, so the results print as JSON as
they are.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from aligngemini.catalog.db import MEMBER_ORIGINS, CatalogNotFound, has_table, wait_while_busy
from aligngemini.errors import AlignGeminiError

MIN_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]+")
_ORIGIN = "kind = 'generated' AND parent_sha256 IS NULL"


@cache
def _host() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@contextmanager
def _reading(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on catalog `db`, attached read-only to this process's in-memory DuckDB and
    detached on exit, so that no lock outlives the call. Waits for a writer, raises
    `CatalogNotFound` and `CatalogBusy` as `db.open_read_only` does.

    Attaching takes a few ms where a new connection takes tens (every DuckDB instance
    builds its catalog of built-in functions), a good part of a lineage query's budget.
    """
    db = Path(db)
    if not db.exists():
        raise CatalogNotFound(f"no catalog at {db} yet: it is created by the first merge of records")
    alias = f"catalog_{uuid.uuid4().hex}"
    cursor = _host().cursor()
    try:
        wait_while_busy(db, lambda: cursor.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(db)]))
        try:
            cursor.execute(f"USE {alias}")
            yield cursor
        finally:
            cursor.execute("USE memory")
            cursor.execute(f"DETACH {alias}")
    finally:
        cursor.close()


class LineageNotFound(AlignGeminiError):
    """The model version, image or generator asked about is not in the catalog."""


class LineageAmbiguous(AlignGeminiError):
    """A key matches more than one entry (a short sha256 prefix, a version of several models)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict]:
    result = con.execute(sql, params or [])
    columns = [column[0] for column in result.description]
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in result.fetchall()]


def _models_on(con: duckdb.DuckDBPyConnection, md5s: list[str]) -> list[dict]:
    """Registered models whose pixel or semantic dataset is one of the versions `md5s`."""
    return _rows(
        con,
        """
        SELECT name, version, pixel_dataset_md5, semantic_dataset_md5, created_at FROM models
        WHERE list_contains(?, pixel_dataset_md5) OR list_contains(?, semantic_dataset_md5)
        ORDER BY created_at, name, version
        """,
        [md5s, md5s],
    )


def _derived(con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list | None = None) -> list[dict]:
    """Rows of `dataset_generators`; none from a catalog older than the table that no writer
    has opened since."""
    try:
        return _rows(con, f"SELECT * FROM dataset_generators WHERE {where}", params)
    except duckdb.CatalogException:
        return []


# Per version and generator, as the merge fills `dataset_generators`: for the versions a
# catalog has not filled yet (written before the table, not merged since).
_WALKED = f"""
    SELECT dataset, dataset_md5, generator, count(DISTINCT origin) AS images, count(*) AS members
    FROM ({MEMBER_ORIGINS}) WHERE generator = $generator GROUP BY ALL
"""


def _model_generators(con: duckdb.DuckDBPyConnection, md5s: list[str]) -> list[dict]:
    """Distinct generated images per generator reaching any of the versions `md5s`.

    Adding up the versions' counts is exact when no generator reaches two of them, which the
    pipeline guarantees for a model's pair: the pixel dataset holds real images and
    reconstructions of real images only (`datasets/pixel.py`), so no generated image reaches
    it. Where a catalog breaks that rule, or a version has no rows yet, the versions'
    members are walked up instead, which counts each image once.
    """
    versions = sorted(set(md5s))
    rows = _derived(con, "list_contains(?, dataset_md5)", [versions])
    counts: dict[str, list[int]] = {}
    for row in rows:
        if row["generator"] is not None:
            counts.setdefault(row["generator"], []).append(row["images"])
    if {row["dataset_md5"] for row in rows} == set(versions) and all(len(c) == 1 for c in counts.values()):
        return [{"name": name, "images": c[0]} for name, c in sorted(counts.items())]
    return _rows(
        con,
        f"""
        SELECT generator AS name, count(DISTINCT origin) AS images FROM ({MEMBER_ORIGINS})
        WHERE origin IS NOT NULL GROUP BY generator ORDER BY generator
        """,
        {"versions": versions},
    )


def _parse_version(version: str, name: str | None) -> tuple[str | None, str]:
    if "@" not in version:
        return name, version
    tag_name, tag_version = version.split("@", 1)
    if name is not None and name != tag_name:
        raise LineageNotFound(f"model version '{version}' names model '{tag_name}', not '{name}'")
    return tag_name, tag_version


def _find_model(con: duckdb.DuckDBPyConnection, version: str, name: str | None) -> dict:
    name, bare = _parse_version(version, name)
    found = _rows(
        con, "SELECT * FROM models WHERE version = ? AND (? IS NULL OR name = ?) ORDER BY name", [bare, name, name]
    )
    if len(found) > 1:
        tags = ", ".join(f"{m['name']}@{m['version']}" for m in found)
        raise LineageAmbiguous(f"model version '{version}' is registered for several models ({tags}): name one")
    if not found:
        known = [f"{n}@{v}" for n, v in con.execute("SELECT name, version FROM models ORDER BY created_at, name").fetchall()]
        listing = f"known: {', '.join(known)}" if known else "no model is registered yet"
        raise LineageNotFound(f"no model version '{version}' in the catalog ({listing})")
    return found[0]


def _model_benchmarks(con: duckdb.DuckDBPyConnection, name: str, version: str) -> list[dict]:
    """The benchmark runs that scored the model, oldest first."""
    if not has_table(con, "benchmarks"):
        return []
    rows = _rows(
        con,
        """
        SELECT name, run_id, collection_fingerprint, conditions, images, errors, report_dir, created_at FROM benchmarks
        WHERE model_name = ? AND model_version = ? ORDER BY created_at, name
        """,
        [name, version],
    )
    for row in rows:
        row["conditions"] = json.loads(row["conditions"])
    return rows


def model_lineage(db: Path, version: str, name: str | None = None) -> dict:
    """A registered model: its row, dataset versions, generators (distinct generated images
    reaching either dataset), branch trainings, gate decisions and the benchmarks it was
    scored on.

    `version` is "v0.0.2" or the GTO tag "name@v0.0.2". Raises `LineageNotFound` for an
    unknown version (listing the known ones), `LineageAmbiguous` when several models have it.
    """
    with _reading(db) as con:
        model = _find_model(con, version, name)
        md5s = [model["pixel_dataset_md5"], model["semantic_dataset_md5"]]
        recorded = {
            row.pop("md5"): row
            for row in _rows(
                con,
                "SELECT md5, name, rows, validation_success, git_rev, created_at FROM datasets WHERE list_contains(?, md5)",
                [md5s],
            )
        }
        datasets = [
            {"branch": branch, "md5": md5, "recorded": md5 in recorded, **recorded.get(md5, {"name": branch})}
            for branch, md5 in zip(("pixel", "semantic"), md5s)
        ]
        generators = _model_generators(con, md5s)
        trainings = _rows(
            con,
            """
            SELECT branch, checkpoint_sha256, dataset, dataset_md5, train_seconds, created_at FROM trainings
            WHERE (branch = 'pixel' AND checkpoint_sha256 = ?) OR (branch = 'semantic' AND checkpoint_sha256 = ?)
            ORDER BY branch
            """,
            [model["pixel_checkpoint_sha256"], model["semantic_checkpoint_sha256"]],
        )
        decisions = _rows(
            con,
            """
            SELECT stage, promoted, reason, baseline_version, decided_at, flow_run_id FROM model_decisions
            WHERE name = ? AND version = ? ORDER BY decided_at
            """,
            [model["name"], model["version"]],
        )
        benchmarks = _model_benchmarks(con, model["name"], model["version"])
    for column in ("params", "metrics", "generators"):
        model[column] = json.loads(model[column])
    model["tag"] = f"{model['name']}@{model['version']}"
    return {"model": model, "datasets": datasets, "generators": generators, "trainings": trainings, "decisions": decisions, "benchmarks": benchmarks}


def _resolve_sha256(con: duckdb.DuckDBPyConnection, key: str) -> dict:
    prefix = key.strip().lower()
    if len(prefix) < MIN_PREFIX or len(prefix) > 64 or not _HEX.fullmatch(prefix):
        raise LineageNotFound(f"'{key}' is not a sha256 or a prefix of one ({MIN_PREFIX} to 64 hex digits)")
    # A whole sha256 is a primary-key lookup (at most one row; ORDER BY would cost a sort);
    # a prefix needs a scan, as DuckDB's index answers equality only.
    sql = "sha256 = ?" if len(prefix) == 64 else "starts_with(sha256, ?) ORDER BY sha256 LIMIT 2"
    found = _rows(con, f"SELECT * FROM images WHERE {sql}", [prefix])
    if not found:
        raise LineageNotFound(f"no image with sha256 '{key}' in the catalog")
    if len(found) > 1:
        matches = ", ".join(row["sha256"][:16] for row in found)
        raise LineageAmbiguous(f"sha256 prefix '{key}' matches several images ({matches}, ...): give more digits")
    return found[0]


# Ancestors and descendants are walked one level per query rather than by a recursive CTE:
# each step of DuckDB's recursive join scans the whole images table, while `sha256 = ?` and
# `parent_sha256 IN (...)` are answered by the primary key and the `images_parent` index.
_STEP_COLUMNS = "sha256, parent_sha256, kind, generator, transform, path"


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _ancestors(con: duckdb.DuckDBPyConnection, image: dict) -> list[dict]:
    """The parent, its parent, ... nearest first (stops at an unknown parent or a cycle)."""
    found, seen, parent = [], {image["sha256"]}, image["parent_sha256"]
    while parent is not None and parent not in seen:
        rows = _rows(con, f"SELECT {_STEP_COLUMNS} FROM images WHERE sha256 = ?", [parent])
        if not rows:
            break
        found.append({"depth": len(found) + 1, **rows[0]})
        seen.add(parent)
        parent = rows[0]["parent_sha256"]
    return found


def _descendants(con: duckdb.DuckDBPyConnection, sha256: str) -> list[dict]:
    """Every image below `sha256`, level by level, each with its depth (1: a child)."""
    found, seen, frontier, depth = [], {sha256}, [sha256], 0
    while frontier:
        depth += 1
        rows = _rows(
            con, f"SELECT {_STEP_COLUMNS} FROM images WHERE parent_sha256 IN ({_marks(frontier)}) ORDER BY sha256", frontier
        )
        rows = [row for row in rows if row["sha256"] not in seen]
        found += [{"depth": depth, **row} for row in rows]
        seen.update(row["sha256"] for row in rows)
        frontier = [row["sha256"] for row in rows]
    return found


def image_lineage(db: Path, sha256: str) -> dict:
    """One image: its row, ancestors (nearest first), descendants (with depth), the dataset
    versions holding it or a descendant, and the models trained on those versions.

    `sha256` may be a unique prefix of at least `MIN_PREFIX` hex digits.
    """
    with _reading(db) as con:
        image = _resolve_sha256(con, sha256)
        ancestors = _ancestors(con, image)
        descendants = _descendants(con, image["sha256"])
        holders = [image["sha256"], *(d["sha256"] for d in descendants)]
        datasets = _rows(
            con,
            f"""
            SELECT dataset AS name, dataset_md5 AS md5, sha256, split, label FROM dataset_members
            WHERE sha256 IN ({_marks(holders)}) ORDER BY dataset, dataset_md5, sha256
            """,
            holders,
        )
        models = _models_on(con, sorted({d["md5"] for d in datasets}))
    return {"image": image, "ancestors": ancestors, "descendants": descendants, "datasets": datasets, "models": models}


def _generator_datasets(con: duckdb.DuckDBPyConnection, name: str) -> list[dict]:
    """Per dataset version, the distinct images of generator `name` reaching it and the
    members descending from them; oldest version first, unrecorded ones last."""
    derived = _derived(con)
    recorded = {(row["name"], row["md5"]): row for row in _rows(con, "SELECT name, md5, rows, created_at FROM datasets")}
    rows = [row for row in derived if row["generator"] == name]
    filled = {row["dataset_md5"] for row in derived}
    unfilled = sorted({md5 for (_, md5), row in recorded.items() if row["rows"] and md5 not in filled})
    if unfilled:
        rows += _rows(con, _WALKED, {"versions": unfilled, "generator": name})
    found = [
        {
            "name": row["dataset"],
            "md5": row["dataset_md5"],
            "images": row["images"],
            "members": row["members"],
            "created_at": recorded.get((row["dataset"], row["dataset_md5"]), {}).get("created_at"),
        }
        for row in rows
    ]
    return sorted(found, key=lambda d: (d["created_at"] is None, d["created_at"] or "", d["name"], d["md5"]))


def generator_lineage(db: Path, name: str, examples: int = 5) -> dict:
    """One generator: its registry row (None if never registered), its images (count,
    first and last created_at, `examples` sha256s), per dataset version the distinct images
    of it that reached the version, and the models trained on those versions.

    Raises `LineageNotFound`, listing the known generators, when the catalog has neither a
    registry row nor an image of `name`.
    """
    with _reading(db) as con:
        registered = _rows(con, "SELECT * FROM generators WHERE name = ?", [name])
        # min_by keeps the first examples on a heap instead of sorting all the generator's
        # images; it takes n >= 1, so `examples=0` is cut afterwards.
        (summary,) = _rows(
            con,
            f"""
            SELECT count(*) AS images, min(created_at) AS first_created_at, max(created_at) AS last_created_at,
                   coalesce(min_by(sha256, (created_at, sha256), ?), []) AS examples
            FROM images WHERE generator = ? AND {_ORIGIN}
            """,
            [max(examples, 1), name],
        )
        summary["examples"] = summary["examples"][:examples]
        if not registered and summary["images"] == 0:
            known = [n for (n,) in con.execute(
                f"SELECT name FROM generators UNION SELECT DISTINCT generator FROM images WHERE {_ORIGIN} ORDER BY 1"
            ).fetchall()]  # fmt: skip
            listing = f"known: {', '.join(known)}" if known else "no generator is registered yet"
            raise LineageNotFound(f"no generator '{name}' in the catalog ({listing})")
        datasets = _generator_datasets(con, name)
        models = _models_on(con, [d["md5"] for d in datasets])
    return {
        "generator": registered[0] if registered else None,
        "name": name,
        **summary,
        "datasets": datasets,
        "models": models,
    }
