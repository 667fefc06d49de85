"""Lineage queries over the catalog: where a model, an image or a generator came from and
what it went into.

A generator's images are the rows it made itself: kind 'generated', its name as
`generator`, no parent. Dataset-derived copies of them (kind 'generated' too, with a
transform) and their reconstructions are descendants: a generated image "reaches" a
dataset version when the version holds it or any image below it. Counts are of distinct
generated images, never of dataset members.

Every function opens the catalog read-only and closes it before returning; timestamps come
back as ISO-8601 UTC strings and JSON columns parsed, so the results print as JSON as they are.
"""

from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from aligngemini.catalog.db import open_read_only
from aligngemini.errors import AlignGeminiError

MIN_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]+")
_ORIGIN = "kind = 'generated' AND parent_sha256 IS NULL"
# Walking up stops at real images: a photo, its tiles and their copies descend from no
# generated image, so the walk skips the real half of the pixel dataset after one step.
_ORIGINS_OF_MEMBERS = f"""
    WITH RECURSIVE up(sha256, kind, parent_sha256, generator) AS (
        SELECT sha256, kind, parent_sha256, generator FROM images
        WHERE sha256 IN (SELECT sha256 FROM dataset_members WHERE list_contains(?, dataset_md5))
        UNION
        SELECT p.sha256, p.kind, p.parent_sha256, p.generator
        FROM up JOIN images AS p ON p.sha256 = up.parent_sha256
        WHERE up.kind <> 'real'
    )
    SELECT generator AS name, count(*) AS images FROM up WHERE {_ORIGIN}
    GROUP BY generator ORDER BY generator
"""


class LineageNotFound(AlignGeminiError):
    """The model version, image or generator asked about is not in the catalog."""


class LineageAmbiguous(AlignGeminiError):
    """A key matches more than one entry (a short sha256 prefix, a version of several models)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
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


def model_lineage(db: Path, version: str, name: str | None = None) -> dict:
    """A registered model: its row, dataset versions, generators (distinct generated images
    reaching either dataset), branch trainings and gate decisions.

    `version` is "v0.0.2" or the GTO tag "name@v0.0.2". Raises `LineageNotFound` for an
    unknown version (listing the known ones), `LineageAmbiguous` when several models have it.
    """
    with closing(open_read_only(db)) as con:
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
        generators = _rows(con, _ORIGINS_OF_MEMBERS, [md5s])
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
    for column in ("params", "metrics", "generators"):
        model[column] = json.loads(model[column])
    model["tag"] = f"{model['name']}@{model['version']}"
    return {"model": model, "datasets": datasets, "generators": generators, "trainings": trainings, "decisions": decisions}


def _resolve_sha256(con: duckdb.DuckDBPyConnection, key: str) -> dict:
    prefix = key.strip().lower()
    if len(prefix) < MIN_PREFIX or len(prefix) > 64 or not _HEX.fullmatch(prefix):
        raise LineageNotFound(f"'{key}' is not a sha256 or a prefix of one ({MIN_PREFIX} to 64 hex digits)")
    # A whole sha256 is a primary-key lookup; a prefix needs a scan (DuckDB's index answers equality only).
    where = "sha256 = ?" if len(prefix) == 64 else "starts_with(sha256, ?)"
    found = _rows(con, f"SELECT * FROM images WHERE {where} ORDER BY sha256 LIMIT 2", [prefix])
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
    with closing(open_read_only(db)) as con:
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


def generator_lineage(db: Path, name: str, examples: int = 5) -> dict:
    """One generator: its registry row (None if never registered), its images (count,
    first and last created_at, `examples` sha256s), per dataset version the distinct images
    of it that reached the version, and the models trained on those versions.

    Raises `LineageNotFound`, listing the known generators, when the catalog has neither a
    registry row nor an image of `name`.
    """
    with closing(open_read_only(db)) as con:
        registered = _rows(con, "SELECT * FROM generators WHERE name = ?", [name])
        (summary,) = _rows(
            con,
            f"""
            SELECT count(*) AS images, min(created_at) AS first_created_at, max(created_at) AS last_created_at,
                   coalesce(list(sha256 ORDER BY created_at, sha256)[1:?], []) AS examples
            FROM images WHERE generator = ? AND {_ORIGIN}
            """,
            [examples, name],
        )
        if not registered and summary["images"] == 0:
            known = [n for (n,) in con.execute(
                f"SELECT name FROM generators UNION SELECT DISTINCT generator FROM images WHERE {_ORIGIN} ORDER BY 1"
            ).fetchall()]  # fmt: skip
            listing = f"known: {', '.join(known)}" if known else "no generator is registered yet"
            raise LineageNotFound(f"no generator '{name}' in the catalog ({listing})")
        datasets = _rows(
            con,
            f"""
            WITH RECURSIVE down(origin, sha256, depth) AS (
                SELECT sha256, sha256, 0 FROM images WHERE generator = ? AND {_ORIGIN}
                UNION ALL
                SELECT down.origin, c.sha256, down.depth + 1
                FROM down JOIN images AS c ON c.parent_sha256 = down.sha256 WHERE down.depth < 64
            )
            SELECT m.dataset AS name, m.dataset_md5 AS md5, count(DISTINCT down.origin) AS images,
                   count(*) AS members, d.created_at
            FROM down JOIN dataset_members AS m USING (sha256)
            LEFT JOIN datasets AS d ON d.name = m.dataset AND d.md5 = m.dataset_md5
            GROUP BY ALL ORDER BY d.created_at NULLS LAST, m.dataset, m.dataset_md5
            """,
            [name],
        )
        models = _models_on(con, [d["md5"] for d in datasets])
    return {
        "generator": registered[0] if registered else None,
        "name": name,
        **summary,
        "datasets": datasets,
        "models": models,
    }
