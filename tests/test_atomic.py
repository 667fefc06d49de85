"""A report or manifest is replaced whole or not at all: a failing write (disk full) keeps
the old content and leaves no temp file behind, and what was written is fsynced."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

from aligngemini.atomic import write_atomic
from aligngemini.manifest import write_parquet_atomic
from aligngemini.training_outputs import write_metrics, write_plot_rows


@pytest.fixture
def disk_full_after(monkeypatch):
    """Every file opened for writing takes `limit` bytes, then fails with ENOSPC."""

    def install(limit: int) -> None:
        real_open = io.open

        class Filling(io.FileIO):
            written = 0

            def write(self, data):
                room = limit - self.written
                if len(data) > room:
                    super().write(bytes(data[: max(room, 0)]))
                    raise OSError(errno.ENOSPC, "No space left on device")
                self.written += len(data)
                return super().write(data)

        def filling_open(file, mode="r", *args, **kwargs):
            if any(flag in mode for flag in "wax+"):
                binary = io.BufferedWriter(Filling(file, mode.replace("b", "").replace("t", "") or "w"))
                return binary if "b" in mode else io.TextIOWrapper(binary, encoding=kwargs.get("encoding"), newline=kwargs.get("newline"))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(io, "open", filling_open)
        monkeypatch.setattr("builtins.open", filling_open)

    return install


WRITERS = {
    "metrics": (lambda path: write_metrics(path, {"balanced_accuracy": 0.5, "notes": "x" * 4000}), "metrics.json"),
    "plot": (lambda path: write_plot_rows(path, [{"step": i, "loss": 1.0 / (i + 1)} for i in range(500)]), "history.csv"),
    "bytes": (lambda path: write_atomic(path, b"y" * 8000), "report.html"),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_write_that_fails_midway_keeps_the_old_file(tmp_path, disk_full_after, writer):
    write, name = WRITERS[writer]
    path = tmp_path / name
    path.write_text('{"balanced_accuracy": 0.9}\n')
    disk_full_after(1024)
    with pytest.raises(OSError, match="No space left"):
        write(path)
    assert path.read_text() == '{"balanced_accuracy": 0.9}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temp file left


def test_parquet_manifest_write_that_fails_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "manifest.parquet"
    write_parquet_atomic(pa.table({"sha256": ["a", "b"]}), path)
    old = path.read_bytes()

    def dies(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half")
        raise KeyboardInterrupt  # a Ctrl-C or kill in the middle of the write

    monkeypatch.setattr("aligngemini.manifest.pq.write_table", dies)
    with pytest.raises(KeyboardInterrupt):
        write_parquet_atomic(pa.table({"sha256": ["c"]}), path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["manifest.parquet"]


def test_the_file_and_its_folder_are_fsynced_and_readable_by_others(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "sub" / "registry.json"
    write_metrics(path, {"version": "v0.0.1"})
    assert json.loads(path.read_text()) == {"version": "v0.0.1"}
    assert any(".registry.json." in name for name in synced)  # the data, before the rename
    assert synced[-1] == str(path.parent)  # the rename, after it
    assert path.stat().st_mode & 0o777 == 0o644
