"""The DuckDB catalog: its single writer (`Catalog`) and read-only helpers.

DuckDB lets one process open the file read-write at a time, a read-only open fails while
that writer holds the file, and the writer cannot open while readers hold it. So the writer
is opened only to merge shards or register generators and closed right after (use
`with Catalog(path) as catalog:`), and readers (`generated_records`, `catalog_stats`, the
CLI) close their connection before returning. Both sides retry with exponential backoff,
readers for `LOCK_WAIT_S` seconds (a merge is short), the writer for its lock timeout (a
user's notebook or DuckDB shell may hold the file for minutes; a stage sets it from
`catalog.lock_timeout_s`), and then raise `CatalogBusy` naming the holder's process when
DuckDB reports it. Within one process, a read-only open also fails while a `Catalog` on
the same file is open: close the writer before reading.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from aligngemini.catalog.records import GeneratorRecord, ImageRecord
from aligngemini.catalog.schema import RECORD_TYPES, CatalogError, create_schema
from aligngemini.catalog.shards import rows_to_arrow, shard_files

log = logging.getLogger("aligngemini")
LOCK_WAIT_S = 10.0
# The writer's wait until a stage sets it from its params (`set_writer_lock_timeout`): what
# a writer outside a stage (a test, a library caller) gets.
_writer_wait_s = 60.0
_FIRST_RETRY_S = 0.05
_MAX_RETRY_S = 2.0
# How DuckDB names the process holding the file in its lock error.
_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")
_READER_ADVICE = "a merge running? rerun when it is done"
_WRITER_ADVICE = (
    "close that connection (a notebook, a DuckDB shell, `aligngemini catalog query`) and rerun,"
    " or let merges wait longer (catalog.lock_timeout_s in the params)"
)
_INCOMING = "_incoming"
T = TypeVar("T")

# How each table takes a batch of incoming rows so that merging the same batch again
# changes nothing. A batch is first reduced to one row per key, in a fixed order, so the
# row that wins does not depend on shard order.
_INSERT_SQL = {
    "images": f"""
        INSERT INTO images BY NAME
        SELECT {{columns}} FROM {_INCOMING}
        QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY created_at, path) = 1
        ON CONFLICT DO NOTHING
    """,
    "quarantine": f"""
        INSERT INTO quarantine BY NAME
        SELECT DISTINCT ON (path, reason, flow_run_id) {{columns}} FROM {_INCOMING} AS s
        WHERE NOT EXISTS (
            SELECT 1 FROM quarantine AS q
            WHERE q.path = s.path AND q.reason = s.reason
              AND q.flow_run_id IS NOT DISTINCT FROM s.flow_run_id
        )
        ORDER BY path, reason, flow_run_id, created_at
    """,
    # A re-registered generator gets its new configuration but keeps its first registered_at.
    "generators": f"""
        INSERT INTO generators BY NAME
        SELECT {{columns}} FROM {_INCOMING}
        QUALIFY row_number() OVER (PARTITION BY name ORDER BY registered_at DESC) = 1
        ON CONFLICT (name) DO UPDATE SET {{updates}}
    """,
    "datasets": f"""
        INSERT INTO datasets BY NAME
        SELECT {{columns}} FROM {_INCOMING}
        QUALIFY row_number() OVER (PARTITION BY name, md5 ORDER BY created_at DESC) = 1
        ON CONFLICT (name, md5) DO UPDATE SET
            validation_success = excluded.validation_success, validation = excluded.validation,
            created_at = excluded.created_at, flow_run_id = excluded.flow_run_id
    """,
    "dataset_members": f"""
        INSERT INTO dataset_members BY NAME
        SELECT DISTINCT ON (dataset_md5, sha256) {{columns}} FROM {_INCOMING}
        ON CONFLICT DO NOTHING
    """,
    "trainings": f"""
        INSERT INTO trainings BY NAME
        SELECT DISTINCT ON (branch, checkpoint_sha256) {{columns}} FROM {_INCOMING}
        ON CONFLICT DO NOTHING
    """,
    "models": f"""
        INSERT INTO models BY NAME
        SELECT DISTINCT ON (name, version) {{columns}} FROM {_INCOMING}
        ON CONFLICT DO NOTHING
    """,
    # A score depends on the image's bytes, the model and the condition only: the first stays.
    "benchmark_scores": f"""
        INSERT INTO benchmark_scores BY NAME
        SELECT DISTINCT ON (model_name, model_version, condition, sha256) {{columns}} FROM {_INCOMING}
        ON CONFLICT DO NOTHING
    """,
    "benchmarks": f"""
        INSERT INTO benchmarks BY NAME
        SELECT DISTINCT ON (run_id, model_name, model_version) {{columns}} FROM {_INCOMING}
        ON CONFLICT DO NOTHING
    """,
    # A decision is an event: the same one merged twice (same version, stage and time) is
    # kept once.
    "model_decisions": f"""
        INSERT INTO model_decisions BY NAME
        SELECT DISTINCT ON (name, version, stage, decided_at) {{columns}} FROM {_INCOMING} AS s
        WHERE NOT EXISTS (
            SELECT 1 FROM model_decisions AS d
            WHERE d.name = s.name AND d.version = s.version AND d.stage = s.stage
              AND d.decided_at = CAST(s.decided_at AS TIMESTAMPTZ) AT TIME ZONE 'UTC'
        )
    """,
}


# Each member of the dataset versions in the list `$versions`, with the generated image it
# descends from (`origin` and `generator` NULL when none). Walking up stops at real images:
# a photo, its tiles and their copies descend from no generated image, so the real half of
# a dataset costs one step. A member has one parent chain, hence at most one origin; the
# depth bound stops a parent cycle.
MEMBER_ORIGINS = """
    WITH RECURSIVE up(dataset_md5, member, sha256, kind, parent_sha256, generator, depth) AS (
        SELECT m.dataset_md5, m.sha256, i.sha256, i.kind, i.parent_sha256, i.generator, 0
        FROM dataset_members AS m JOIN images AS i USING (sha256)
        WHERE list_contains($versions, m.dataset_md5)
        UNION ALL
        SELECT up.dataset_md5, up.member, p.sha256, p.kind, p.parent_sha256, p.generator, up.depth + 1
        FROM up JOIN images AS p ON p.sha256 = up.parent_sha256
        WHERE up.kind <> 'real' AND up.depth < 64
    )
    SELECT m.dataset_md5, m.dataset, m.sha256 AS member, o.sha256 AS origin, o.generator
    FROM dataset_members AS m LEFT JOIN up AS o
        ON o.dataset_md5 = m.dataset_md5 AND o.member = m.sha256
        AND o.kind = 'generated' AND o.parent_sha256 IS NULL
    WHERE list_contains($versions, m.dataset_md5)
"""


def fill_dataset_generators(con: duckdb.DuckDBPyConnection) -> int:
    """Add the `dataset_generators` rows of every dataset version that has members and no
    rows there yet; returns the rows added.

    A version is computed once: its members come in one shard (the validation task writes
    them at once, after the dataset's images) and never change once recorded.
    """
    pending = [
        md5
        for (md5,) in con.execute(
            "SELECT DISTINCT dataset_md5 FROM dataset_members"
            " WHERE dataset_md5 NOT IN (SELECT dataset_md5 FROM dataset_generators)"
        ).fetchall()
    ]
    if not pending:
        return 0
    ((added,),) = con.execute(
        f"""
        INSERT INTO dataset_generators (dataset_md5, dataset, generator, images, members)
        SELECT dataset_md5, dataset, generator, count(DISTINCT origin), count(*)
        FROM ({MEMBER_ORIGINS}) GROUP BY ALL
        """,
        {"versions": pending},
    ).fetchall()
    return added


class CatalogBusy(CatalogError):
    """The catalog file is held by another connection (a merge, a notebook, a DuckDB shell);
    `pid` is the holder's process when DuckDB reports it."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class CatalogNotFound(CatalogError):
    """No catalog file exists yet at the given path."""


class Catalog:
    """The catalog's one writer. Opens (and creates) the DuckDB file read-write.

    Hold it only as long as a merge takes: while it is open, no other process can read.
    While another process holds the file (a reader left open), the open is retried for
    `lock_timeout_s` (default: this process's `set_writer_lock_timeout`) before `CatalogBusy`.
    """

    def __init__(self, path: Path, lock_timeout_s: float | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = _writer_wait_s if lock_timeout_s is None else lock_timeout_s
        self._con = wait_while_busy(self.path, lambda: duckdb.connect(str(self.path)), timeout, writer=True)
        create_schema(self._con)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def merge_staging(self, staging: Path) -> dict[str, int]:
        """Insert every shard waiting in `staging`, fill `dataset_generators` for the dataset
        versions new to it, commit, then delete the merged shards.

        Returns the rows written per table (for generators: inserted or updated). Rows already
        in the catalog are skipped, so if the process dies after the commit but before the
        shards are deleted, merging again inserts nothing. Shards that appear while the merge
        runs are left for the next merge. On any error nothing is inserted and no shard is
        deleted.
        """
        shards = {table: shard_files(staging, table) for table in RECORD_TYPES}
        counts = dict.fromkeys(RECORD_TYPES, 0)
        # Even with nothing staged: a catalog from before `dataset_generators` gets it filled.
        with self._transaction():
            for table, files in shards.items():
                if files:
                    incoming = self._con.read_parquet([str(f) for f in files], union_by_name=True)
                    counts[table] = self._insert(table, incoming)
            fill_dataset_generators(self._con)
        for files in shards.values():
            for file in files:
                file.unlink(missing_ok=True)
        return counts

    def upsert_generators(self, records: Sequence[GeneratorRecord]) -> None:
        """Insert generators, or replace the configuration of those already registered
        (their `registered_at` stays the first one)."""
        self.insert_records("generators", records)

    def insert_records(self, table: str, records: Sequence) -> int:
        """Insert `records` of a table's record type in one transaction, as a merge of
        them would (rows already present are skipped or updated); the rows written."""
        arrow = rows_to_arrow(table, [record.to_row() for record in records])
        if arrow.num_rows == 0:
            return 0
        with self._transaction():
            return self._insert(table, self._con.from_arrow(arrow))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    def _insert(self, table: str, incoming: duckdb.DuckDBPyRelation) -> int:
        columns = [f.name for f in fields(RECORD_TYPES[table])]
        types = dict(
            self._con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        )
        # Records carry ISO-8601 strings; an explicit offset is honoured, none means UTC.
        select = ", ".join(
            f"CAST({c} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS {c}" if types[c] == "TIMESTAMP" else c for c in columns
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("name", "registered_at"))
        # A session-only name: nothing about the batch is stored in the catalog file.
        self._con.register(_INCOMING, incoming)
        try:
            ((written,),) = self._con.execute(_INSERT_SQL[table].format(columns=select, updates=updates)).fetchall()
        finally:
            self._con.unregister(_INCOMING)
        return written


def set_writer_lock_timeout(seconds: float) -> None:
    """How long every later `Catalog` of this process waits for the file by default: a
    stage sets it from its params' `catalog.lock_timeout_s` where it starts, so that the
    merges of every flow wait as the params say."""
    global _writer_wait_s
    _writer_wait_s = seconds


def wait_while_busy(db: Path, open_: Callable[[], T], timeout_s: float | None = None, writer: bool = False) -> T:
    """`open_()` (a connect to or an ATTACH of `db`), retried with exponential backoff for
    `timeout_s` (default `LOCK_WAIT_S`) while another connection holds the file; then
    `CatalogBusy`, naming the holder's process when DuckDB reports it. A `writer` says
    once that it waits, as its wait can be long."""
    timeout_s = LOCK_WAIT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    delay = _FIRST_RETRY_S
    while True:
        try:
            return open_()
        except (duckdb.IOException, duckdb.ConnectionException, duckdb.ResourceInUseException) as exc:
            # IOException "Could not set lock": another process holds the file. ConnectionException
            # (connect) or ResourceInUseException (ATTACH): this process has the file open
            # with another configuration (e.g. a Catalog).
            busy = not isinstance(exc, duckdb.IOException) or "lock" in str(exc).lower()
            if not busy:
                raise CatalogError(f"{db}: cannot open the catalog: {exc}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise _busy(db, exc, timeout_s, _WRITER_ADVICE if writer else _READER_ADVICE) from None
            if writer and delay == _FIRST_RETRY_S:
                log.warning("%s: the catalog is in use by %s; the merge retries for up to %g s", db, _holder(exc)[0], timeout_s)
            time.sleep(min(delay, left))
            delay = min(delay * 2, _MAX_RETRY_S)


def _holder(exc: duckdb.Error) -> tuple[str, int | None]:
    """Who holds the file, in words, and its PID."""
    holder = _HOLDER.search(str(exc))
    if holder is None:  # DuckDB names no process when the holder is this one
        return "another connection of this process", None
    return f"PID {holder['pid']} ({holder['exe']})", int(holder["pid"])


def _busy(db: Path, exc: duckdb.Error, waited_s: float, advice: str) -> CatalogBusy:
    who, pid = _holder(exc)
    return CatalogBusy(f"{db}: the catalog is in use by {who}, still after {waited_s:g} s of retrying; {advice}. DuckDB: {exc}", pid)


def open_read_only(db: Path, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open an existing catalog read-only, waiting up to `LOCK_WAIT_S` for a writer to finish.

    Raises `CatalogNotFound` when the file does not exist (a read-only open never creates it).
    """
    db = Path(db)
    if not db.exists():
        raise CatalogNotFound(f"no catalog at {db} yet: it is created by the first merge of records")
    return wait_while_busy(db, lambda: duckdb.connect(str(db), read_only=True, config=config or {}))


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the open catalog has `table`: one from before a table was added lacks it
    until a writer opens it, and a read-only open cannot create it."""
    ((count,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_catalog = current_database()", [table]
    ).fetchall()
    return count > 0


_IMAGE_COLUMNS = [f.name for f in fields(ImageRecord)]


def _image_rows(db: Path, where: str, params: list[Any]) -> list[dict]:
    """ImageRecord-shaped dicts (`ImageRecord(**row)` works) of the images matching `where`."""
    if not Path(db).exists():
        return []
    with closing(open_read_only(db)) as con:
        rows = con.execute(
            f"SELECT {', '.join(_IMAGE_COLUMNS)} FROM images WHERE {where} ORDER BY path, sha256", params
        ).fetchall()
    records = [dict(zip(_IMAGE_COLUMNS, row)) for row in rows]
    for record in records:
        record["created_at"] = _iso_utc(record["created_at"])
    return records


def _iso_utc(value: datetime) -> str:
    return value.replace(tzinfo=timezone.utc).isoformat()


def generated_records(db: Path, generators: Sequence[str]) -> list[dict]:
    """Every generated image of the named generators, with all ImageRecord fields."""
    return _image_rows(db, "kind = 'generated' AND list_contains(?, generator)", [list(generators)])


def records_for_source_kind(db: Path, kind: str) -> list[dict]:
    """Every image of one kind ('real', 'generated' or 'reconstruction'), with all ImageRecord fields."""
    return _image_rows(db, "kind = ?", [kind])


def _group_counts(con: duckdb.DuckDBPyConnection, table: str, column: str, where: str = "TRUE") -> dict[str, int]:
    rows = con.sql(
        f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL AND {where} GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return dict(rows)


def image_counts_by_generator(db: Path) -> dict[str, int]:
    """Generated images (kind 'generated') per generator; generators with none are absent."""
    if not Path(db).exists():
        return {}
    with closing(open_read_only(db)) as con:
        return _group_counts(con, "images", "generator", "kind = 'generated'")


def catalog_stats(db: Path) -> dict:
    """Row counts per table, images per kind / generator / source, quarantine per reason, file size.

    A catalog that does not exist yet gives `exists: False` and empty counts.
    """
    db = Path(db)
    stats: dict[str, Any] = {
        "path": str(db),
        "exists": db.exists(),
        "size_bytes": 0,
        "tables": {},
        "images_by_kind": {},
        "images_by_generator": {},
        "images_by_source": {},
        "quarantine_by_reason": {},
    }
    if not stats["exists"]:
        return stats
    with closing(open_read_only(db)) as con:
        # Record tables only: a derived one (dataset_generators) holds no record of its own.
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            " AND table_type = 'BASE TABLE' AND list_contains(?, table_name) ORDER BY table_name",
            [list(RECORD_TYPES)],
        ).fetchall()
        stats["tables"] = {name: con.sql(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] for (name,) in tables}
        stats["images_by_kind"] = _group_counts(con, "images", "kind")
        stats["images_by_generator"] = _group_counts(con, "images", "generator")
        stats["images_by_source"] = _group_counts(con, "images", "source")
        stats["quarantine_by_reason"] = _group_counts(con, "quarantine", "reason")
    stats["size_bytes"] = db.stat().st_size
    return stats
