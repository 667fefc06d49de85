"""The DVC-tracked manifest of a stage's images: deterministic columns only (no timestamps,
no run ids), sorted by sha256, so two runs from scratch write byte-identical files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aligngemini.atomic import write_with
from aligngemini.catalog.records import MANIFEST_COLUMNS

_TYPES = {"seed": pa.int64(), "width": pa.int32(), "height": pa.int32(), "jpeg_quality": pa.int32()}
SCHEMA = pa.schema([(name, _TYPES.get(name, pa.string())) for name in MANIFEST_COLUMNS])


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    write_with(path, lambda temp: pq.write_table(table, temp))


def write_manifest(rows: Iterable[Mapping], path: Path) -> int:
    ordered = sorted(({c: row[c] for c in MANIFEST_COLUMNS} for row in rows), key=lambda r: r["sha256"])
    write_parquet_atomic(pa.Table.from_pylist(ordered, schema=SCHEMA), path)
    return len(ordered)


def read_manifest(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()
