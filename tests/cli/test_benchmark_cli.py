"""`aligngemini benchmark` on small on-disk collections cut from the photos the embedded
profile ingests, scored by the session's tiny fused model (and a second fused model of the
same branches with other thresholds, for the side-by-side table)."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from skimage import data
from typer.testing import CliRunner

from aligngemini.benchmark.collection import LAYOUTS
from aligngemini.cli import app
from aligngemini.fusion.model_dir import write_fused_model
from aligngemini.fusion.rules import FusionModel
from aligngemini.model_registry import ResolvedModel
from tests.catalog.test_lineage import MODEL, build_lineage_catalog
from tests.fusion.tiny_models import BAD, BASE_MODEL, write_detect_folder

PHOTOS = (data.astronaut(), data.chelsea(), data.coffee(), data.rocket())
KEYS = ("real_accuracy", "fake_accuracy", "balanced_accuracy", "roc_auc", "ap", "threshold_at_fpr", "ci")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="module")
def bench(fused_project, tmp_path_factory) -> Path:
    """The fused project's models with a catalog of its own (the lineage tests' catalog, which
    registers v0.0.1 and v0.0.2); v0.0.2 is the same branches fused with other thresholds."""
    root = tmp_path_factory.mktemp("bench")
    os.symlink(fused_project.root / "models", root / "models")
    raw = yaml.safe_load(fused_project.params.read_text())
    raw["paths"]["catalog"] = str(root / "catalog" / "catalog.duckdb")
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (root / "catalog").mkdir()
    build_lineage_catalog(root / "catalog" / "catalog.duckdb")
    write_fused_model(
        root / "second", pixel_checkpoint=fused_project.pixel_checkpoint, semantic_adapter=fused_project.semantic_adapter,
        semantic_base_model=BASE_MODEL, semantic=fused_project.semantic, pixel=fused_project.pixel,
        fusion=FusionModel("or_fixed", {"t_pixel": 0.3, "t_semantic": 0.7}),
    )  # fmt: skip
    return root


@pytest.fixture
def resolved(bench, fused_project, monkeypatch) -> list[str]:
    """prod and v0.0.1: the session's fused model; v0.0.2: the second one. Records the specs asked."""
    asked = []

    def resolve(project, spec="prod"):
        asked.append(spec)
        version = "v0.0.1" if spec == "prod" else spec
        return ResolvedModel(MODEL, version, fused_project.model_dir if version == "v0.0.1" else bench / "second")

    monkeypatch.setattr("aligngemini.cli.benchmark.resolve_model", resolve)
    return asked


def write_images(folder: Path, count: int, seed: int) -> list[Path]:
    """`count` 96 px crops of the photos, each with a little seeded noise so that no two
    tests share image bytes (and so cached scores)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        photo = PHOTOS[i % len(PHOTOS)]
        y, x = rng.integers(0, photo.shape[0] - 96), rng.integers(0, photo.shape[1] - 96)
        pixels = np.clip(photo[y : y + 96, x : x + 96].astype(int) + rng.integers(-3, 4, (96, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(path := folder / f"{i:02d}.png")
        paths.append(path)
    return paths


def run(bench: Path, *args: str):
    return CliRunner().invoke(app, ["benchmark", *args, "--params", str(bench / "params.yaml"), "--no-progress", "--bootstrap", "20"])


def summary_of(result) -> dict:
    return json.loads(result.stdout)


@pytest.mark.parametrize("layout", LAYOUTS.names())
def test_each_layout_is_detected_and_scored_per_subset_with_every_metric(bench, resolved, tmp_path, layout):
    folder = {label: name for name, label in LAYOUTS.get(layout).labels.items()}
    real, fake = folder["real"], folder["fake"]
    root = tmp_path / "wildrf"
    for index, subset in enumerate(("reddit", "twitter")):
        write_images(root / subset / real, 3, seed=10 * index + 1)
        write_images(root / subset / fake, 3, seed=10 * index + 2)
    result = run(bench, str(root), "--json", "--name", f"layout-{layout}")
    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert summary["collections"] == [{"root": str(root), "layout": layout, "real": 6, "fake": 6, "errors": 0, "subsets": ["wildrf/reddit", "wildrf/twitter"]}]
    table = summary["results"][f"{MODEL}@v0.0.1"]["clean"]
    assert list(table) == ["overall", "wildrf/reddit", "wildrf/twitter"]
    for subset, by_branch in table.items():
        assert list(by_branch) == ["fused", "pixel", "semantic"]
        for metrics in by_branch.values():
            assert set(KEYS) <= set(metrics) and metrics["n_real"] == metrics["n_fake"] == (6 if subset == "overall" else 3)
            assert metrics["ci"]["roc_auc"][0] <= metrics["roc_auc"] <= metrics["ci"]["roc_auc"][1]
    out = bench / "reports" / "benchmarks" / f"layout-{layout}"
    assert json.loads((out / "metrics.json").read_text())["results"] == summary["results"]
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == 12 and scores["error"].isna().all() and set(scores["subset"]) == {"wildrf/reddit", "wildrf/twitter"}
    roc = pd.read_csv(out / "plots" / "roc.csv")
    assert set(roc["branch"]) == {"fused", "pixel", "semantic"} and roc[["fpr", "tpr"]].stack().between(0, 1).all()
    assert {"recall", "precision"} <= set(pd.read_csv(out / "plots" / "pr.csv"))
    page = (out / "report.html").read_text()
    assert "wildrf/reddit" in page and 'src="data:image/png;base64,' in page


def test_a_manifest_with_a_perturbation_gives_a_table_per_condition(bench, resolved, tmp_path):
    images = write_images(tmp_path / "pool", 6, seed=30)
    rows = [{"path": str(p.relative_to(tmp_path)), "label": label, "subset": subset}
            for p, label, subset in zip(images, [0, 1, 0, 1, 0, 1], ["a", "a", "a", "b", "b", "b"])]  # fmt: skip
    manifest = tmp_path / "mine.parquet"
    pd.DataFrame(rows).to_parquet(manifest)
    result = run(bench, str(manifest), "--json", "--perturb", "jpeg:75")
    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert summary["name"] == "mine" and summary["collections"][0]["layout"] == "manifest"
    assert summary["conditions"] == ["clean", "jpeg_q75"]
    by_condition = summary["results"][f"{MODEL}@v0.0.1"]
    assert list(by_condition["jpeg_q75"]) == ["overall", "a", "b"]
    scores = pd.read_parquet(bench / "reports" / "benchmarks" / "mine" / "scores.parquet").pivot(index="path", columns="condition", values="p_pixel")
    assert len(scores) == 6 and (scores["jpeg_q75"] != scores["clean"]).all()  # each image was compressed before scoring


def test_bad_files_are_listed_with_their_reason_counted_per_subset_and_exit_1(bench, resolved, tmp_path):
    root = tmp_path / "mixed"
    write_images(root / "real", 3, seed=40)
    files = write_detect_folder(root / "fake")
    outside = tmp_path / "secret.png"
    Image.new("RGB", (64, 64)).save(outside)
    os.symlink(outside, root / "fake" / "link.png")
    result = run(bench, str(root), "--json", "--name", "mixed")
    assert result.exit_code == 1
    summary = summary_of(result)
    errors = {Path(e["path"]).name: e["error"] for e in summary["errors"]["files"]}
    assert set(errors) == {*BAD, "link.png"}
    for name, reason in BAD.items():
        assert str(files[name]) in errors[name] and reason in errors[name]
    assert "symlink leaves the collection" in errors["link.png"]
    assert summary["errors"]["by_subset"] == [{"model": f"{MODEL}@v0.0.1", "condition": "clean", "subset": "mixed", "count": len(BAD) + 1}]
    fused = summary["results"][f"{MODEL}@v0.0.1"]["clean"]["overall"]["fused"]
    assert (fused["n_real"], fused["n_fake"]) == (3, 4)  # every good file scored
    page = (bench / "reports" / "benchmarks" / "mixed" / "report.html").read_text()
    assert f"Files not scored ({len(BAD) + 1})" in page and "refused_by_semantic_processor" in page
    assert "failed" in result.stderr


def test_two_models_side_by_side_then_the_cache_scores_only_what_is_new(bench, resolved, tmp_path):
    root = tmp_path / "pair"
    write_images(root / "real", 4, seed=50)
    write_images(root / "fake", 4, seed=51)
    first = run(bench, str(root), "--json", "--model", "v0.0.1")
    assert first.exit_code == 0, first.output
    assert "8 images: 8 scored, 0 from the cache" in first.stderr
    both = run(bench, str(root), "--model", "v0.0.1", "--model", "v0.0.2", "--name", "pair-both")
    assert both.exit_code == 0, both.output
    assert "8 images: 8 scored, 8 from the cache" in both.stderr  # only the new model scored
    lines = both.stdout.splitlines()
    assert any(line.startswith(f"{MODEL}@v0.0.2  clean") for line in lines)
    assert any(line.startswith(f"{MODEL}@v0.0.2 - {MODEL}@v0.0.1") for line in lines)
    again = run(bench, str(root), "--json", "--model", "v0.0.1", "--model", "v0.0.2", "--name", "pair-renamed")
    assert "8 images: 0 scored, 16 from the cache" in again.stderr
    summary = summary_of(again)
    pair = summary["differences"][f"{MODEL}@v0.0.2 - {MODEL}@v0.0.1"]["clean"]["overall"]
    assert pair["pixel"]["roc_auc"] == {"delta": 0.0, "ci": [0.0, 0.0]}  # same pixel branch, same images
    assert resolved == ["v0.0.1", "v0.0.1", "v0.0.2", "v0.0.1", "v0.0.2"]

    listing = CliRunner().invoke(app, ["benchmark", "list", "--json", "--params", str(bench / "params.yaml")])
    runs = [(r["name"], r["model_version"]) for r in json.loads(listing.stdout)]
    assert {("pair", "v0.0.1"), ("pair-both", "v0.0.2"), ("pair-renamed", "v0.0.1")} <= set(runs)
    fingerprints = {r["collection_fingerprint"] for r in json.loads(listing.stdout) if r["name"].startswith("pair")}
    assert fingerprints == {summary["fingerprint"]}
    lineage = CliRunner().invoke(app, ["lineage", "model", "v0.0.2", "--params", str(bench / "params.yaml")])
    assert lineage.exit_code == 0, lineage.output
    assert "pair-both: 8 images, 0 failed, clean" in lineage.stdout and "pair:" not in lineage.stdout


def test_a_folder_without_label_folders_fails_naming_what_it_found(bench, resolved, tmp_path):
    write_images(tmp_path / "photos" / "holiday", 2, seed=60)
    result = run(bench, str(tmp_path / "photos"))
    assert result.exit_code == 1 and "holiday" in result.stderr and "0_real" in result.stderr
    assert resolved == []  # nothing loaded or resolved before the input is known good
    bad = run(bench, str(tmp_path / "photos"), "--perturb", "jpeg:500")
    assert bad.exit_code == 1 and "perturbation 'jpeg:500'" in bad.stderr
