import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from aligngemini.catalog.datasets import dataset_versions
from aligngemini.catalog.db import records_for_source_kind
from aligngemini.cli import app
from aligngemini.datasets.version import dvc_md5
from aligngemini.images.pool import load_tiles
from aligngemini.manifest import read_manifest
from aligngemini.project import Project
from aligngemini.reconstruction.quality import heldout_psnr
from aligngemini.reconstruction.jobs import ReconPlan
from aligngemini.reconstruction.vae import load_vae
from flows.reconstruct import reconstruct
from flows.validate import DatasetValidationError, validate


@pytest.fixture(scope="module")
def project(pipeline_project) -> Project:
    return Project.load(pipeline_project)


def test_every_reconstructor_reconstructs_held_out_photos(project):
    """None needs to be good (they need to differ), but each must reconstruct photos it never saw
    (measured: recon-vq, the weakest, 15.1 dB)."""
    params = project.params
    tiles = load_tiles(project.manifest("real"), project.data_root, project.root, params.images, params.bootstrap.holdout_fraction, holdout=True)
    assert tiles, "no held-out photo: the PSNR would be measured on training data"
    for entry in params.reconstruction.reconstructors:
        vae = load_vae(entry.model, entry.subfolder, project.root, entry.kind, device=project.params.reconstruction.device, dtype=project.params.reconstruction.dtype)
        assert heldout_psnr(vae, tiles, params.reconstruction.seed, params.reconstruction.batch_size) >= 14.0, entry.name


def test_every_reconstruction_is_recorded_with_its_parent(project):
    rows = records_for_source_kind(project.catalog, "reconstruction")
    manifest = read_manifest(project.manifest("reconstruction"))
    real = {r["sha256"] for r in read_manifest(project.manifest("real")) if r["parent_sha256"]}
    generated = {r["sha256"] for r in read_manifest(project.manifest("generated"))}
    plan = ReconPlan.from_params(project.params, read_manifest(project.manifest("real")))
    assert plan.test_tiles and plan.test_tiles < real
    assert len(manifest) == 2 * len(real) + len(generated) + len(plan.heldout) * len(plan.test_tiles)
    assert {r["parent_sha256"] for r in manifest} == real | generated
    native = {(r["parent_sha256"], r["source"]) for r in manifest if r["transform"].startswith("vae(")}
    for sha in real:
        makers = {source for parent, source in native if parent == sha}
        assert len(makers & set(plan.training)) == 1, "each tile has exactly one training reconstruction"
        assert (makers - set(plan.training)) == (set(plan.heldout) if sha in plan.test_tiles else set())
    assert {source for _, source in native} == {*plan.training, *plan.heldout}, "every reconstructor is drawn for some tile"
    assert {r["sha256"] for r in manifest} <= {r["sha256"] for r in rows}
    assert reconstruct(params_path=str(project.root / "params.yaml"))["reconstructed"] == 0, "a rerun redid work"


def test_pixel_fakes_come_from_every_training_reconstructor_and_no_heldout_one(project):
    pixel = pd.read_parquet(project.dataset_manifest("pixel"))
    assert set(pixel.loc[pixel.label == "fake", "generator"]) == set(project.params.training_reconstructors())


def test_held_out_generator_only_in_heldout_split(project):
    semantic = pd.read_parquet(project.dataset_manifest("semantic"))
    heldout = set(project.params.datasets.heldout_generators)
    assert set(semantic.loc[semantic.generator.isin(heldout), "split"]) == {"heldout"}
    assert not semantic.loc[semantic.split.isin(["train", "val"]), "generator"].isin(heldout).any()
    fakes = semantic[(semantic.label == "fake") & (semantic.split == "train")]
    assert fakes.generator.value_counts().nunique() == 1, "train fakes are not balanced per generator"


def test_versions_are_recorded_with_their_dvc_md5_and_members(project):
    versions = {v["name"]: v for v in dataset_versions(project.catalog)}
    assert set(versions) == {"pixel", "semantic"}
    for name, version in versions.items():
        assert version["md5"] == dvc_md5(project.dataset_manifest(name).parent)
        assert version["validation_success"] is True
        assert version["rows"] == len(pd.read_parquet(project.dataset_manifest(name)))
    metrics = json.loads((project.reports / "validation.json").read_text())
    assert {name: m["success"] for name, m in metrics.items()} == {"pixel": True, "semantic": True}
    assert (project.reports / "validation" / "docs" / "index.html").is_file()


def test_datasets_cli(project):
    runner = CliRunner()
    listed = runner.invoke(app, ["datasets", "list", "--params", str(project.root / "params.yaml"), "--json"])
    assert listed.exit_code == 0, listed.output
    assert {v["name"] for v in json.loads(listed.stdout)} == {"pixel", "semantic"}
    shown = runner.invoke(app, ["datasets", "show", "semantic", "--params", str(project.root / "params.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "heldout" in shown.stdout and "tiny-ddpm" in shown.stdout and "validation:   passed" in shown.stdout
    missing = runner.invoke(app, ["datasets", "show", "nope", "--params", str(project.root / "params.yaml")])
    assert missing.exit_code == 1 and "no recorded version" in missing.stderr


def test_a_broken_manifest_fails_the_validate_flow_with_a_report(pipeline_project, tmp_path):
    import shutil

    root = tmp_path / "broken"
    shutil.copytree(pipeline_project.parent, root, ignore=shutil.ignore_patterns("catalog"))
    project = Project.load(root / "params.yaml")
    manifest = pd.read_parquet(project.dataset_manifest("pixel"))
    manifest.loc[0, "label"] = "maybe"
    manifest.to_parquet(project.dataset_manifest("pixel"), index=False)
    with pytest.raises(DatasetValidationError, match="label_in_set"):
        validate(params_path=str(root / "params.yaml"))
    failed = dataset_versions(project.catalog, "pixel")[0]
    assert failed["validation_success"] is False and "label_in_set" in failed["validation"]
