from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligngemini.catalog.db import Catalog
from aligngemini.catalog.records import ImageRecord, QuarantineRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _image(i: int, kind: str, generator: str | None) -> dict:
    return ImageRecord(
        sha256=f"{i:064x}", path=f"data/{kind}/{i}.png", kind=kind, source=generator or "embedded",
        parent_sha256=None, generator=generator, prompt=None, seed=i if generator else None, width=64, height=64,
        transform=None, source_format=None, jpeg_quality=None, created_at="2025-03-01T10:00:00+00:00",
        flow_run_id=None,
    ).to_row()  # fmt: skip


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the repository's params.yaml in a fresh folder; returns the params file."""
    params = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    return params


def _fill(catalog: Path, staging: Path) -> None:
    images = [_image(0, "real", None), _image(1, "generated", "tiny-sd"), _image(2, "generated", "tiny-sd")]
    write_shard(staging, "images", images)
    bad = QuarantineRecord("in/x.gif", "animated", "3 frames", "2025-03-01T10:00:00Z", None)
    write_shard(staging, "quarantine", [bad.to_row()])
    with Catalog(catalog) as writer:
        writer.merge_staging(staging)


def _invoke(*args: str):
    return runner.invoke(app, ["catalog", *args])


def test_missing_catalog_is_reported_not_created(project):
    for args in (["stats"], ["query", "SELECT 1"]):
        result = _invoke(*args, "--params", str(project))
        assert result.exit_code == 1
        assert "no catalog at" in result.stderr and "catalog.duckdb" in result.stderr
    assert not (project.parent / "data").exists()


def test_bad_params_file_exits_1(tmp_path):
    result = _invoke("stats", "--params", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 1 and "file not found" in result.stderr


def test_stats_empty_and_filled_via_params(project):
    catalog = project.parent / "data" / "catalog" / "catalog.duckdb"
    Catalog(catalog).close()

    empty = _invoke("stats", "--params", str(project))
    assert empty.exit_code == 0, empty.output
    assert "images per kind:\n  (none)" in empty.stdout

    _fill(catalog, project.parent / "data" / "catalog" / "staging")
    text = _invoke("stats", "--params", str(project))
    assert text.exit_code == 0, text.output
    assert "rows per table:" in text.stdout
    assert any(line.split() == ["generated", "2"] for line in text.stdout.splitlines())
    assert any(line.split() == ["animated", "1"] for line in text.stdout.splitlines())

    machine = json.loads(_invoke("stats", "--params", str(project), "--json").stdout)
    assert {t: n for t, n in machine["tables"].items() if n} == {"images": 3, "quarantine": 1}
    assert machine["images_by_generator"] == {"tiny-sd": 2}
    assert machine["size_bytes"] == catalog.stat().st_size


def test_query_prints_a_table_or_json(tmp_path):
    catalog = tmp_path / "elsewhere.duckdb"
    _fill(catalog, tmp_path / "staging")
    sql = "SELECT kind, count(*) AS n, max(seed) AS top FROM images GROUP BY kind ORDER BY kind"

    table = _invoke("query", sql, "--catalog", str(catalog))
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split(" | ") == ["kind     ", "n", "top"]
    assert lines[2].split() == ["generated", "|", "2", "|", "2"] and lines[3].split() == ["real", "|", "1", "|", "NULL"]
    assert lines[-1] == "(2 rows)"

    as_json = _invoke("query", sql, "--catalog", str(catalog), "--json")
    assert json.loads(as_json.stdout) == [{"kind": "generated", "n": 2, "top": 2}, {"kind": "real", "n": 1, "top": None}]

    capped = _invoke("query", "SELECT * FROM images", "--catalog", str(catalog), "--json", "--limit", "1")
    assert len(json.loads(capped.stdout)) == 1 and "first 1 rows" in capped.stderr


@pytest.mark.parametrize("sql", ["DELETE FROM images", "SELECT 1; SELECT 2", "SELECT * FROM read_csv('/etc/passwd')"])
def test_refused_query_exits_2_with_one_line(tmp_path, sql):
    catalog = tmp_path / "catalog.duckdb"
    _fill(catalog, tmp_path / "staging")
    result = _invoke("query", sql, "--catalog", str(catalog))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: query refused:") and result.stderr.count("\n") == 1


def test_failing_query_exits_1(tmp_path):
    catalog = tmp_path / "catalog.duckdb"
    Catalog(catalog).close()
    result = _invoke("query", "SELECT * FROM nope", "--catalog", str(catalog))
    assert result.exit_code == 1 and "nope" in result.stderr and result.stderr.count("\n") == 1
