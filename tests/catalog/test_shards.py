from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aligngemini.catalog import shards
from aligngemini.catalog.records import ImageRecord
from aligngemini.catalog.schema import CatalogError
from aligngemini.catalog.shards import shard_files, write_shard


def test_shard_holds_the_rows_typed_from_the_record(tmp_path, image):
    rows = [image(i).to_row() for i in range(3)]
    path = write_shard(tmp_path, "images", rows)

    assert path.parent == tmp_path / "images" and path.suffix == ".parquet"
    table = pq.read_table(path)
    assert table.to_pylist() == rows
    assert table.schema.names == [f.name for f in fields(ImageRecord)]
    # All-None columns still carry the record's type, not Arrow's null type.
    assert table.schema.field("seed").type == pa.int64()
    assert table.schema.field("parent_sha256").type == pa.string()
    assert table.schema.field("jpeg_quality").type == pa.int64()
    assert not table.schema.field("sha256").nullable and table.schema.field("seed").nullable


def test_no_rows_no_file(tmp_path):
    assert write_shard(tmp_path, "images", []) is None
    assert list(tmp_path.iterdir()) == []


def test_unknown_table_is_refused(tmp_path, image):
    with pytest.raises(CatalogError, match="unknown catalog table 'checkpoints'"):
        write_shard(tmp_path, "checkpoints", [image(0).to_row()])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda row: row.pop("seed"), r"missing columns \['seed'\]"),
        (lambda row: row.update(colour="red"), r"unknown columns \['colour'\]"),
        (lambda row: row.update(width=None), r"\['width'\] must not be None"),
        (lambda row: row.update(width="wide"), "do not match the record types"),
    ],
)
def test_malformed_rows_are_refused(tmp_path, image, change, message):
    row = image(0).to_row()
    change(row)
    with pytest.raises(CatalogError, match=message):
        write_shard(tmp_path, "images", [image(1).to_row(), row])
    assert not (tmp_path / "images").exists() or list((tmp_path / "images").iterdir()) == []


def test_a_failed_write_leaves_no_file_behind(tmp_path, image, monkeypatch):
    def crash(table, where):
        Path(where).write_bytes(b"PAR1 half a shard")
        raise OSError("disk full")

    monkeypatch.setattr(shards.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        write_shard(tmp_path, "images", [image(0).to_row()])
    assert list((tmp_path / "images").iterdir()) == []


def test_parallel_writers_each_get_their_own_shard(tmp_path, image):
    def task(worker: int):
        return write_shard(tmp_path, "images", [image(worker * 10 + i).to_row() for i in range(10)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        paths = list(pool.map(task, range(16)))

    assert sorted(paths) == shard_files(tmp_path, "images")
    assert len(set(paths)) == 16
    assert sum(pq.read_metadata(p).num_rows for p in paths) == 160
    assert [p.name for p in (tmp_path / "images").iterdir() if p.suffix != ".parquet"] == []
