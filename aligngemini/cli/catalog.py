"""`aligngemini catalog ...`: look into the catalog without ever writing to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from aligngemini.catalog.db import catalog_stats
from aligngemini.catalog.query import QueryRefused, run_read_query
from aligngemini.catalog.schema import CatalogError
from aligngemini.cli.common import (
    DEFAULT_PARAMS,
    CatalogOption,
    JsonOption,
    ParamsOption,
    existing_catalog,
    fail,
    print_json,
)

app = typer.Typer(no_args_is_help=True, help="Inspect the DuckDB catalog (read-only).")

_STATS_SECTIONS = {
    "tables": "rows per table",
    "images_by_kind": "images per kind",
    "images_by_generator": "images per generator",
    "images_by_source": "images per source",
    "quarantine_by_reason": "quarantined files per reason",
}


def _counts(title: str, counts: dict[str, int], width: int) -> list[str]:
    if not counts:
        return [f"{title}:", "  (none)"]
    return [f"{title}:", *(f"  {name:<{width}}  {count:>8}" for name, count in counts.items())]


@app.command()
def stats(params: ParamsOption = DEFAULT_PARAMS, catalog: CatalogOption = None, json: JsonOption = False) -> None:
    """Row counts per table, images per kind, generator and source, quarantine per reason, file size."""
    path = existing_catalog(params, catalog)
    try:
        result = catalog_stats(path)
    except CatalogError as exc:
        fail(str(exc))
    if json:
        print_json(result)
        return
    lines = [f"catalog: {result['path']} ({result['size_bytes']:,} bytes)"]
    width = max((len(name) for key in _STATS_SECTIONS for name in result[key]), default=0)
    for key, title in _STATS_SECTIONS.items():
        lines += _counts(title, result[key], width)
    typer.echo("\n".join(lines))


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table; a cell with line breaks spans several lines of its row."""
    cells = [[_cell(v).splitlines() or [""] for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, *(len(line) for line in cell)) for w, cell in zip(widths, row)]
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)), "-+-".join("-" * w for w in widths)]
    for row in cells:
        for i in range(max((len(cell) for cell in row), default=1)):
            out.append(" | ".join((cell[i] if i < len(cell) else "").ljust(w) for cell, w in zip(row, widths)))
    out.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(line.rstrip() for line in out)


@app.command()
def query(
    sql: Annotated[
        str, typer.Argument(help="One read statement, e.g. \"SELECT kind, count(*) FROM images GROUP BY kind\".")
    ],
    params: ParamsOption = DEFAULT_PARAMS,
    catalog: CatalogOption = None,
    json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many rows (0: no limit).")] = 1000,
) -> None:
    """Run one read-only SQL statement. Writes, file access, ATTACH and extensions are refused (exit 2)."""
    path = existing_catalog(params, catalog)
    try:
        columns, rows = run_read_query(path, sql, max_rows=limit + 1 if limit else None)
    except QueryRefused as exc:
        fail(f"query refused: {exc}", code=2)
    except CatalogError as exc:
        fail(str(exc))
    if limit and len(rows) > limit:
        rows = rows[:limit]
        typer.echo(f"note: only the first {limit} rows are shown (--limit)", err=True)
    if json:
        print_json([dict(zip(columns, row)) for row in rows])
    else:
        typer.echo(format_table(columns, rows))
