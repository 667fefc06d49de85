"""Ad-hoc read queries against the catalog, for people and scripts.

Three locks, so that no query can change the catalog or reach outside it: the statement
must parse as a single read (SELECT, WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE, or
EXPLAIN of one of those); the file is opened read-only; and DuckDB's external access is
off with its configuration locked, so `read_csv('/etc/passwd')`, `COPY ... TO`, `ATTACH`,
`INSTALL`/`LOAD` and `SET` fail even inside an allowed statement.
"""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path

import duckdb

from aligngemini.catalog.db import open_read_only
from aligngemini.catalog.schema import CatalogError

_LOCKED_DOWN = {"enable_external_access": False, "lock_configuration": True}
# Leading comments are allowed before EXPLAIN, as DuckDB allows them.
_EXPLAIN = re.compile(r"^(?:\s+|--[^\n]*|/\*.*?\*/)*EXPLAIN(?:\s+ANALYZE)?\b", re.IGNORECASE | re.DOTALL)
_ALLOWED = "only a single read statement is allowed (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN SELECT)"


class QueryRefused(CatalogError):
    """The query is not a single read statement, or it tried to write or reach outside the catalog."""


class QueryFailed(CatalogError):
    """An allowed query failed in DuckDB (unknown table or column, type error, ...)."""


def _statements(sql: str) -> list[duckdb.Statement]:
    try:
        return duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(f"cannot parse the query: {exc}") from None


def check_read_only(sql: str) -> None:
    """Raise `QueryRefused` unless `sql` is exactly one read statement."""
    statements = _statements(sql)
    if len(statements) != 1:
        raise QueryRefused(f"{_ALLOWED}; got {len(statements)} statements")
    (statement,) = statements
    if statement.type == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs its statement, so what it explains must be a read as well.
        inner = _EXPLAIN.sub("", statement.query, count=1)
        try:
            if inner == statement.query:  # an EXPLAIN the pattern does not know: never recurse on it
                raise QueryFailed(inner)
            check_read_only(inner)
        except QueryFailed:
            raise QueryRefused(f"{_ALLOWED}; write EXPLAIN [ANALYZE] followed by the query") from None
    elif statement.type != duckdb.StatementType.SELECT:
        raise QueryRefused(f"{_ALLOWED}; got a statement of type {statement.type.name}")


def run_read_query(db: Path, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read statement on the catalog read-only; return (column names, rows).

    `max_rows` caps the rows fetched (None: all). Raises `QueryRefused` for anything that
    is not a read, or that tries to touch files, extensions or settings; `QueryFailed` for
    other DuckDB errors; `CatalogNotFound` / `CatalogBusy` as `open_read_only` does.
    """
    check_read_only(sql)
    with closing(open_read_only(db, config=_LOCKED_DOWN)) as con:
        try:
            result = con.execute(sql)
            rows = result.fetchall() if max_rows is None else result.fetchmany(max_rows)
        except duckdb.PermissionException as exc:
            raise QueryRefused(f"the query tried to reach outside the catalog: {exc}") from None
        except duckdb.Error as exc:
            if "read-only" in str(exc) or "configuration has been locked" in str(exc):
                raise QueryRefused(f"the query tried to change the catalog or its settings: {exc}") from None
            raise QueryFailed(str(exc)) from None
        columns = [column[0] for column in result.description or []]
    return columns, rows
