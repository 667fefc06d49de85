from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from aligngemini.catalog.db import Catalog, CatalogNotFound
from aligngemini.catalog.query import QueryFailed, QueryRefused, run_read_query
from aligngemini.catalog.shards import write_shard


@pytest.fixture(scope="module")
def db(tmp_path_factory, image) -> Path:
    root = tmp_path_factory.mktemp("query")
    write_shard(root / "staging", "images", [image(i, seed=i).to_row() for i in range(3)])
    path = root / "catalog.duckdb"
    with Catalog(path) as catalog:
        catalog.merge_staging(root / "staging")
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A readable CSV file next to, not inside, the catalog."""
    path = tmp_path_factory.mktemp("outside") / "secrets.csv"
    path.write_text("user,password\nroot,hunter2\n")
    return path


REFUSED = {
    "insert": "INSERT INTO images SELECT * FROM images",
    "update": "UPDATE images SET width = 1",
    "delete": "DELETE FROM images",
    "delete in a CTE": "WITH gone AS (DELETE FROM images RETURNING *) SELECT * FROM gone",
    "create": "CREATE TABLE t (a INTEGER)",
    "create temp": "CREATE TEMP TABLE t AS SELECT 1",
    "drop": "DROP TABLE images",
    "alter": "ALTER TABLE images ADD COLUMN x INTEGER",
    "attach": "ATTACH ':memory:' AS other",
    "detach": "DETACH catalog",
    "copy to": "COPY images TO '{tmp}/dump.csv'",
    "copy select to": "COPY (SELECT * FROM images) TO '{tmp}/dump.parquet' (FORMAT parquet)",
    "export": "EXPORT DATABASE '{tmp}/export'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "read_csv outside": "SELECT * FROM read_csv('{outside}')",
    "replacement scan outside": "SELECT * FROM '{outside}'",
    "read_text outside": "SELECT * FROM read_text('/etc/hostname')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "pragma write": "PRAGMA enable_profiling",
    "pragma call": "CALL pragma_table_info('images')",
    "checkpoint": "CHECKPOINT",
    "set": "SET enable_external_access = true",
    "vacuum": "VACUUM",
    "two statements": "SELECT 1; DROP TABLE images",
    "two selects": "SELECT 1; SELECT 2",
    "explain analyze of a write": "EXPLAIN ANALYZE DELETE FROM images",
    "empty": "  -- nothing\n",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_writes_and_escapes_are_refused(db, outside, tmp_path, sql):
    before = db.read_bytes()
    with pytest.raises(QueryRefused):
        run_read_query(db, sql.format(tmp=tmp_path, outside=outside))
    assert list(tmp_path.iterdir()) == [], "nothing was written outside"
    assert db.read_bytes() == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM images").fetchall() == [(3,)]


def test_refusal_names_the_reason(db, outside):
    with pytest.raises(QueryRefused, match="got 2 statements"):
        run_read_query(db, "SELECT 1; SELECT 2")
    with pytest.raises(QueryRefused, match="type DROP"):
        run_read_query(db, "DROP TABLE images")
    with pytest.raises(QueryRefused, match="outside the catalog"):
        run_read_query(db, f"SELECT * FROM read_csv('{outside}')")


ALLOWED = {
    "select": ("SELECT seed FROM images ORDER BY seed", ["seed"], [(0,), (1,), (2,)]),
    "with": ("WITH s AS (SELECT seed FROM images) SELECT max(seed) AS top FROM s", ["top"], [(2,)]),
    "from first": ("FROM images SELECT count(*) AS n", ["n"], [(3,)]),
    "trailing semicolon": ("SELECT 1 AS one;", ["one"], [(1,)]),
    "comment first": ("/* count */ SELECT count(*) AS n FROM images", ["n"], [(3,)]),
    "table function": (
        "SELECT name FROM pragma_table_info('images') WHERE pk",
        ["name"],
        [("sha256",)],
    ),
}


@pytest.mark.parametrize(("sql", "columns", "rows"), ALLOWED.values(), ids=ALLOWED.keys())
def test_reads_are_allowed(db, sql, columns, rows):
    assert run_read_query(db, sql) == (columns, rows)


INTROSPECTION = ["DESCRIBE images", "SHOW TABLES", "SUMMARIZE images", "EXPLAIN SELECT * FROM images", "-- why\nEXPLAIN ANALYZE SELECT 1"]


@pytest.mark.parametrize("sql", INTROSPECTION)
def test_introspection_is_allowed(db, sql):
    columns, rows = run_read_query(db, sql)
    assert columns and rows


def test_max_rows_caps_what_is_fetched(db):
    assert run_read_query(db, "SELECT * FROM range(1000000)", max_rows=2) == (["range"], [(0,), (1,)])


def test_errors_of_allowed_queries_and_missing_catalog(db, tmp_path):
    with pytest.raises(QueryFailed, match="nope"):
        run_read_query(db, "SELECT * FROM nope")
    with pytest.raises(QueryFailed, match="cannot parse"):
        run_read_query(db, "SELEC 1")
    with pytest.raises(CatalogNotFound):
        run_read_query(tmp_path / "absent.duckdb", "SELECT 1")
    assert not (tmp_path / "absent.duckdb").exists()
