from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligngemini.cli import app
from tests.catalog.test_lineage import MODEL, SHA, build_lineage_catalog

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_lineage_catalog(tmp_path_factory.mktemp("lineage-cli") / "catalog.duckdb")


def _invoke(db: Path, *args: str):
    return runner.invoke(app, ["lineage", *args, "--catalog", str(db)])


def test_model_json_parses_and_matches(db):
    result = _invoke(db, "model", f"{MODEL}@v0.0.1", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["model"]["version"] == "v0.0.1"
    assert found["generators"] == [{"name": "gen-a", "images": 2}, {"name": "gen-b", "images": 1}]
    assert [d["md5"] for d in found["datasets"]] == ["p1" * 16, "s1" * 16]


def test_model_text_mentions_datasets_generators_and_decisions(db):
    result = _invoke(db, "model", "v0.0.2")
    assert result.exit_code == 0, result.output
    for fact in (f"{MODEL}@v0.0.2", "s2" * 16, "gen-c", "refused", "baseline v0.0.1", "cs2cs2cs2cs2"):
        assert fact in result.stdout
    assert "HEAD rev1 (with uncommitted changes), registered commit commit1" in result.stdout
    assert "HEAD rev1 (clean), registered commit commit0" in _invoke(db, "model", "v0.0.1").stdout


def test_image_json_and_text(db):
    found = json.loads(_invoke(db, "image", SHA["jpeg_ra1"][:10], "--json").stdout)
    assert found["image"]["sha256"] == SHA["jpeg_ra1"]
    assert [a["sha256"] for a in found["ancestors"]] == [SHA["ra1"], SHA["a1"]]
    text = _invoke(db, "image", SHA["a1"]).stdout
    for fact in (SHA["a1"], SHA["ra1"], SHA["jpeg_ra1"], "s1" * 16, f"{MODEL}@v0.0.1"):
        assert fact in text


def test_generator_json_and_text(db):
    found = json.loads(_invoke(db, "generator", "gen-b", "--json").stdout)
    assert [(d["md5"], d["images"]) for d in found["datasets"]] == [("s1" * 16, 1), ("s2" * 16, 1)]
    text = _invoke(db, "generator", "gen-a").stdout
    for fact in ("gen-a", "2 images", "s1" * 16, f"{MODEL}@v0.0.1"):
        assert fact in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "v9.9.9"], "no model version 'v9.9.9'"),
        (["image", "0123456789abcdef"], "no image with sha256 '0123456789abcdef'"),
        (["image", "deadbeef"], "matches several images"),
        (["generator", "gen-z"], "no generator 'gen-z'"),
    ],
)
def test_unknown_keys_exit_1_with_one_line(db, args, message):
    result = _invoke(db, *args)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_missing_catalog_exits_1(tmp_path):
    result = _invoke(tmp_path / "absent.duckdb", "model", "v0.0.1")
    assert result.exit_code == 1 and "no catalog at" in result.stderr
