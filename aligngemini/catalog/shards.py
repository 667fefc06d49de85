"""Parquet record shards: how parallel tasks hand rows to the catalog's single writer.

A task never opens the DuckDB file. It writes its rows to `staging/<table>/<uuid>.parquet`;
the merge task (`Catalog.merge_staging`) inserts every shard and then deletes it. Column
types come from the record dataclasses, not from the values, so a column that is None in
every row of a shard still has the type the other shards have.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aligngemini.atomic import write_with
from aligngemini.catalog.schema import CatalogError, record_type

_ARROW_TYPES: dict[type, pa.DataType] = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
SHARD_SUFFIX = ".parquet"


def _arrow_field(name: str, hint: object) -> pa.Field:
    args = typing.get_args(hint)
    nullable = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    if nullable:
        (hint,) = [arg for arg in args if arg is not type(None)]
        args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        hint = type(args[0])
    return pa.field(name, _ARROW_TYPES[hint], nullable=nullable)


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table's shards, derived from its record dataclass."""
    record = record_type(table)
    hints = typing.get_type_hints(record)
    return pa.schema([_arrow_field(f.name, hints[f.name]) for f in fields(record)])


def rows_to_arrow(table: str, rows: Sequence[Mapping]) -> pa.Table:
    """Check `rows` against the table's record fields and build a typed Arrow table.

    Every row must have exactly the record's fields, and a field that is not Optional in
    the record must not be None; otherwise `CatalogError` names the row and the column.
    """
    schema = arrow_schema(table)
    expected = set(schema.names)
    required = [f.name for f in schema if not f.nullable]
    for index, row in enumerate(rows):
        missing, unknown = expected - row.keys(), row.keys() - expected
        if missing or unknown:
            raise CatalogError(
                f"{table} row {index}: missing columns {sorted(missing)}, unknown columns {sorted(unknown)}"
            )
        nulls = [name for name in required if row[name] is None]
        if nulls:
            raise CatalogError(f"{table} row {index}: columns {nulls} must not be None")
    try:
        return pa.Table.from_pylist([dict(row) for row in rows], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CatalogError(f"{table} rows do not match the record types: {exc}") from None


def write_shard(staging: Path, table: str, rows: Sequence[Mapping]) -> Path | None:
    """Write `rows` as one new shard `staging/<table>/<uuid>.parquet`; None when there are no rows.

    The file appears under its final name only once complete (`aligngemini.atomic`: its
    temp name does not end in .parquet), so a merge running at the same time either sees the
    whole shard or none of it. Safe to call from many threads or processes at once: every
    shard has its own name.
    """
    arrow = rows_to_arrow(table, rows)
    if arrow.num_rows == 0:
        return None
    final = Path(staging) / table / f"{uuid.uuid4().hex}{SHARD_SUFFIX}"
    write_with(final, lambda temp: pq.write_table(arrow, temp))
    return final


def shard_files(staging: Path, table: str) -> list[Path]:
    """The complete shards of a table waiting in `staging`, in a stable order."""
    return sorted((Path(staging) / table).glob(f"*{SHARD_SUFFIX}"))
