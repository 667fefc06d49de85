from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aligngemini.catalog import db as catalog_db
from aligngemini.catalog.db import (
    Catalog,
    CatalogBusy,
    catalog_stats,
    generated_records,
    image_counts_by_generator,
    records_for_source_kind,
)
from aligngemini.catalog.records import ImageRecord
from aligngemini.catalog.schema import RECORD_TYPES
from aligngemini.catalog.shards import shard_files, write_shard


def _counts(**nonzero: int) -> dict[str, int]:
    """Rows per table as merge and stats report them: every table, zero unless given."""
    return {table: nonzero.get(table, 0) for table in RECORD_TYPES}


@pytest.fixture
def paths(tmp_path) -> tuple[Path, Path]:
    return tmp_path / "catalog" / "catalog.duckdb", tmp_path / "staging"


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


def _merge(db: Path, staging: Path) -> dict[str, int]:
    with Catalog(db) as catalog:
        return catalog.merge_staging(staging)


def test_tables_have_exactly_the_record_fields(paths):
    db, _ = paths
    Catalog(db).close()
    for table, record in RECORD_TYPES.items():
        columns = _rows(db, f"SELECT column_name FROM (DESCRIBE {table})")
        assert [c for (c,) in columns] == [f.name for f in fields(record)]
    types = dict(_rows(db, "SELECT column_name, column_type FROM (DESCRIBE images)"))
    assert types["created_at"] == "TIMESTAMP" and types["seed"] == "BIGINT"
    indexed = {sql for (sql,) in _rows(db, "SELECT sql FROM duckdb_indexes() WHERE table_name = 'images'")}
    assert any("(generator, prompt, seed)" in sql for sql in indexed)
    assert any("(parent_sha256)" in sql for sql in indexed) and any("(kind)" in sql for sql in indexed)


def test_shards_of_parallel_writers_merge_once(paths, image, quarantined):
    db, staging = paths
    assert _merge(db, staging) == _counts(), "no staging folder yet"

    def task(worker: int):
        # Workers 0 and 1 overlap on purpose: the same image reported twice is stored once.
        first = 10 * (worker // 2) if worker < 2 else 10 * worker
        write_shard(staging, "images", [image(i).to_row() for i in range(first, first + 10)])
        write_shard(staging, "quarantine", [quarantined(path=f"bad{worker}.jpg").to_row()])

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(task, range(6)))

    assert _merge(db, staging) == _counts(images=50, quarantine=6)
    assert _rows(db, "SELECT count(*), count(DISTINCT sha256) FROM images") == [(50, 50)]
    assert shard_files(staging, "images") == [] and shard_files(staging, "quarantine") == []
    assert _merge(db, staging) == _counts()


def test_remerge_after_crash_between_commit_and_delete_adds_nothing(paths, image, quarantined, monkeypatch):
    db, staging = paths
    write_shard(staging, "images", [image(i).to_row() for i in range(5)])
    write_shard(staging, "quarantine", [quarantined(run=None).to_row(), quarantined(run="run-2").to_row()])

    def crash(self, missing_ok=False):
        raise KeyboardInterrupt("killed after commit")

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", crash)
        with pytest.raises(KeyboardInterrupt):
            _merge(db, staging)
    assert len(shard_files(staging, "images")) == 1, "the shards survived the crash"
    assert _rows(db, "SELECT count(*) FROM images") == [(5,)]

    assert _merge(db, staging) == _counts()
    assert _rows(db, "SELECT count(*) FROM images") == [(5,)]
    assert _rows(db, "SELECT count(*) FROM quarantine") == [(2,)]
    assert shard_files(staging, "images") == []


def test_all_null_columns_merge(paths, image):
    db, staging = paths
    bare = dict(source=None, generator=None, prompt=None, seed=None, flow_run_id=None, kind="real")
    write_shard(staging, "images", [image(i, **bare).to_row() for i in range(3)])
    write_shard(staging, "images", [image(9, transform="tile(x=0,y=0,size=128)", jpeg_quality=90).to_row()])

    assert _merge(db, staging)["images"] == 4
    assert _rows(db, "SELECT count(seed), count(jpeg_quality), count(*) FROM images") == [(1, 1, 4)]


def test_a_failed_merge_inserts_nothing_and_keeps_the_shards(paths, image):
    db, staging = paths
    write_shard(staging, "images", [image(0).to_row()])
    broken = staging / "images" / "handmade.parquet"
    pq.write_table(pa.table({"sha256": ["f" * 64]}), broken)

    with pytest.raises(duckdb.Error):
        _merge(db, staging)
    assert _rows(db, "SELECT count(*) FROM images") == [(0,)]
    assert len(shard_files(staging, "images")) == 2


def test_quarantine_keeps_one_row_per_path_reason_and_run(paths, quarantined):
    db, staging = paths
    write_shard(staging, "quarantine", [quarantined().to_row(), quarantined().to_row()])
    write_shard(staging, "quarantine", [quarantined(run=None).to_row()] * 2)
    _merge(db, staging)
    write_shard(staging, "quarantine", [quarantined().to_row(), quarantined(run=None).to_row()])
    write_shard(staging, "quarantine", [quarantined(run="run-2").to_row(), quarantined(reason="too_large").to_row()])

    assert _merge(db, staging)["quarantine"] == 2
    assert _rows(db, "SELECT reason, flow_run_id FROM quarantine ORDER BY ALL") == [
        ("too_large", "run-1"),
        ("truncated_or_corrupt", "run-1"),
        ("truncated_or_corrupt", "run-2"),
        ("truncated_or_corrupt", None),
    ]


def test_upsert_generators_replaces_configuration_keeps_first_registration(paths, generator):
    db, _ = paths
    with Catalog(db) as catalog:
        catalog.upsert_generators([generator("tiny-sd"), generator("tiny-ddpm")])
        catalog.upsert_generators(
            [generator("tiny-sd", steps=20, config_hash="b" * 64, registered_at="2026-06-01T00:00:00+00:00")]
        )
        catalog.upsert_generators([])
    assert _rows(db, "SELECT name, steps, config_hash, strftime(registered_at, '%Y') FROM generators ORDER BY name") == [
        ("tiny-ddpm", 8, "a" * 64, "2025"),
        ("tiny-sd", 20, "b" * 64, "2025"),
    ]


def test_read_helpers(paths, image):
    db, staging = paths
    assert generated_records(db, ["tiny-sd"]) == []
    assert image_counts_by_generator(db) == {}
    assert records_for_source_kind(db, "real") == []
    assert not db.exists(), "readers never create the catalog"

    photo = image(100, kind="real", source="embedded", generator=None, prompt=None, seed=None, source_format="PNG")
    tile = image(101, kind="real", source="embedded", generator=None, prompt=None, seed=None, parent_sha256=photo.sha256)
    sd = [image(i) for i in range(3)]
    pixart = image(3, generator="tiny-pixart", source="tiny-pixart", created_at="2025-03-01T12:00:00+02:00")
    recon = image(200, kind="reconstruction", generator="tiny-vae", parent_sha256=tile.sha256)
    write_shard(staging, "images", [r.to_row() for r in [photo, tile, *sd, pixart, recon]])
    _merge(db, staging)

    assert [ImageRecord(**row) for row in generated_records(db, ["tiny-sd"])] == sd
    pixart_row = generated_records(db, ["tiny-pixart", "unknown"])
    assert pixart_row == [{**pixart.to_row(), "created_at": "2025-03-01T10:00:00+00:00"}], "stored in UTC"
    assert generated_records(db, []) == []
    assert image_counts_by_generator(db) == {"tiny-pixart": 1, "tiny-sd": 3}
    assert [r["sha256"] for r in records_for_source_kind(db, "real")] == [photo.sha256, tile.sha256]
    assert records_for_source_kind(db, "reconstruction")[0]["parent_sha256"] == tile.sha256


def test_stats_of_missing_empty_and_filled_catalog(paths, image, quarantined, generator):
    db, staging = paths
    missing = catalog_stats(db)
    assert missing["exists"] is False and missing["tables"] == {} and missing["size_bytes"] == 0

    Catalog(db).close()
    empty = catalog_stats(db)
    assert empty["tables"] == _counts()
    assert empty["images_by_kind"] == {} and empty["quarantine_by_reason"] == {}
    assert empty["size_bytes"] == db.stat().st_size > 0

    write_shard(staging, "images", [image(0).to_row(), image(1, kind="real", generator=None, source="embedded").to_row()])
    write_shard(staging, "quarantine", [quarantined().to_row(), quarantined(path="b.png", reason="too_large").to_row()])
    with Catalog(db) as catalog:
        catalog.merge_staging(staging)
        catalog.upsert_generators([generator()])
    filled = catalog_stats(db)
    assert filled["tables"] == _counts(generators=1, images=2, quarantine=2)
    assert filled["images_by_kind"] == {"generated": 1, "real": 1}
    assert filled["images_by_generator"] == {"tiny-sd": 1}
    assert filled["images_by_source"] == {"embedded": 1, "tiny-sd": 1}
    assert filled["quarantine_by_reason"] == {"too_large": 1, "truncated_or_corrupt": 1}


def test_readers_wait_for_the_writer_then_give_up(paths, monkeypatch):
    db, _ = paths
    Catalog(db).close()
    monkeypatch.setattr(catalog_db, "LOCK_WAIT_S", 0.5)
    hold = f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('ready', flush=True); sys.stdin.read()"
    writer = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        with pytest.raises(CatalogBusy, match="in use"):
            catalog_stats(db)
    finally:
        writer.communicate("", timeout=30)
    assert catalog_stats(db)["tables"]["images"] == 0

    with Catalog(db):
        with pytest.raises(CatalogBusy):
            image_counts_by_generator(db)


def _reader(db: Path, seconds: float | None = None) -> subprocess.Popen:
    """Another process holding `db` open read-only, as a notebook does: for `seconds`, or
    until its stdin closes."""
    hold = f"time.sleep({seconds})" if seconds else "sys.stdin.read()"
    code = f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}, read_only=True); print('ready', flush=True); {hold}"
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    return reader


def test_a_merge_waits_for_a_reader_in_another_process_to_let_go(paths, image):
    db, staging = paths
    Catalog(db).close()
    write_shard(staging, "images", [image(1).to_row()])
    reader = _reader(db, seconds=2)
    started = time.monotonic()
    try:
        with Catalog(db, lock_timeout_s=60) as catalog:
            counts = catalog.merge_staging(staging)
    finally:
        reader.communicate("", timeout=30)
    assert time.monotonic() - started > 1.5, "the reader held the file"
    assert counts["images"] == 1 and shard_files(staging, "images") == []


def test_a_merge_blocked_past_its_timeout_names_the_readers_process(paths, image):
    db, staging = paths
    Catalog(db).close()
    write_shard(staging, "images", [image(1).to_row()])
    reader = _reader(db)
    try:
        with pytest.raises(CatalogBusy, match=rf"in use by PID {reader.pid} \(.*python.*\), still after 0.5 s.*catalog.lock_timeout_s") as busy:
            Catalog(db, lock_timeout_s=0.5)
    finally:
        reader.communicate("", timeout=30)
    assert busy.value.pid == reader.pid
    assert len(shard_files(staging, "images")) == 1, "the shards wait for the next merge"
