"""The whole pipeline in bfloat16 on the CPU, on the embedded profile's tiny models at the
full profile's sizes (aligngemini/smoke.py): every stage that runs a model takes its device
and precision from params, and the full profile's size rules hold end to end."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from aligngemini.config import load_params
from aligngemini.fusion.detector import FusedDetector
from aligngemini.fusion.model_dir import read_model_info
from aligngemini.manifest import read_manifest
from aligngemini.project import Project
from aligngemini.smoke import smoke_params
from tests.conftest import ROOT, make_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_project(embedded_project, tmp_path_factory):
    from flows.build_datasets import build_datasets
    from flows.evaluate import evaluate
    from flows.generate import generate
    from flows.ingest import ingest
    from flows.reconstruct import reconstruct
    from flows.register import register
    from flows.train_pixel import train_pixel
    from flows.train_semantic import train_semantic
    from flows.validate import validate

    full = yaml.safe_load((ROOT / "params.full.yaml").read_text())
    root = tmp_path_factory.mktemp("smoke")

    def edit(params: dict) -> None:
        params.clear()
        params.update(smoke_params(yaml.safe_load((ROOT / "params.yaml").read_text()), full, "cpu", "bfloat16"))

    params = make_project(root, edit, ["a cat on a table", "a rocket at dawn"])
    shutil.copytree(embedded_project.parent / "models", root / "models")
    for args in (["init", "-q"], ["add", "params.yaml"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "smoke"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    results = {}
    for name, flow_fn in (
        ("ingest", ingest), ("generate", generate), ("reconstruct", reconstruct), ("build_datasets", build_datasets),
        ("validate", validate), ("train_pixel", train_pixel), ("train_semantic", train_semantic), ("evaluate", evaluate), ("register", register),
    ):  # fmt: skip
        results[name] = flow_fn(params_path=str(params))
    return Project.load(params), results


def test_profile_has_the_full_sizes_and_bfloat16_everywhere(smoke_project):
    project, _ = smoke_project
    params, full = project.params, load_params(ROOT / "params.full.yaml")
    assert params.ingest.tile_size == params.reconstruction.semantic_size == full.reconstruction.semantic_size == 336
    assert (params.datasets.pixel, params.pixel.inference.min_side) == (full.datasets.pixel, full.pixel.inference.min_side)
    assert {params.reconstruction.dtype, params.pixel.dtype, params.semantic.dtype, params.evaluation.dtype} == {"bfloat16"}
    assert {g.torch_dtype for g in params.generators} == {"bfloat16"}


def test_every_stage_finishes_and_the_model_is_registered(smoke_project):
    _, results = smoke_project
    assert results["generate"]["planned"] == results["generate"]["generated"] > 0
    assert all(results["validate"].values()), results["validate"]
    assert results["register"]["version"] == "v0.0.1" and results["register"]["promoted"]


def test_reconstructions_record_their_precision(smoke_project):
    project, _ = smoke_project
    transforms = {row["transform"] for row in read_manifest(project.manifest("reconstruction"))}
    assert transforms and all(t.endswith(",bfloat16)") for t in transforms), sorted(transforms)[:3]


def test_fused_model_records_and_reloads_its_placement(smoke_project, caplog):
    project, _ = smoke_project
    model_dir = project.path(project.params.registry.path)
    trained = read_model_info(model_dir).trained_on
    assert trained.pixel.model_dump() == trained.semantic.model_dump() == {"device": "cpu", "dtype": "bfloat16"}
    detector = FusedDetector.load(model_dir, project.root)
    assert detector.expert.compute_dtype == "bfloat16" and next(detector.vlm.model.parameters()).dtype.is_floating_point
    tile = next(row for row in read_manifest(project.manifest("real")) if row["parent_sha256"])
    (detection,) = detector.detect_paths([project.path(tile["path"])], project.params.images)
    assert detection.error is None and 0 <= detection.p_fake <= 1


def test_pixel_training_in_bfloat16_wrote_its_metrics(smoke_project):
    project, _ = smoke_project
    metrics = json.loads((project.reports / "pixel" / "metrics.json").read_text())
    assert {"val", "test"} <= set(metrics) and 0 <= metrics["val"]["balanced_accuracy"] <= 1, metrics
