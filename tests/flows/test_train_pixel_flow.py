"""The pixel branch's training flow on the session's embedded pipeline, with the
repository's params: it reads only its own validated dataset and tells real tiles from
their reconstructions."""

import json
import shutil

import pandas as pd
import pytest

from aligngemini.catalog.trainings import DatasetNotValidated, trainings
from aligngemini.pixel.checkpoint import load_checkpoint
from aligngemini.pixel.infer import p_fake
from flows.train_pixel import train_pixel


@pytest.fixture(scope="module")
def trained(trained_project):
    return trained_project.project, trained_project.metrics["pixel"], trained_project.opened["pixel"]


def test_only_pixel_dataset_images_reach_the_training(trained, dataset_members):
    project, _, opened = trained
    (record,) = trainings(project.catalog, "pixel")
    assert record["dataset"] == "pixel"
    assert opened, "the training opened no image"
    assert opened <= dataset_members(project, md5=record["dataset_md5"]), "opened images outside its dataset version"
    assert not opened & dataset_members(project, dataset="semantic"), "a semantic dataset image reached the training"


def test_expert_tells_reconstructions_apart_also_after_jpeg(trained):
    project, metrics, _ = trained
    print("pixel metrics:", json.dumps(metrics))
    # in-distribution pairs of four decoders, unblurred (measured val 0.90 / test 0.87, after
    # JPEG 0.88 / 0.88); the held-out families are tests/flows/test_evaluate_register_flows.py's
    for split in ("val", "test"):
        assert metrics[split]["balanced_accuracy"] >= 0.83, split
        assert metrics[split]["jpeg_q75"]["balanced_accuracy"] >= 0.80, split
    assert json.loads((project.reports / "pixel" / "metrics.json").read_text()) == metrics
    history = pd.read_csv(project.reports / "pixel" / "history.csv")
    assert len(history) == project.params.pixel.epochs and history.train_loss.iloc[-1] < history.train_loss.iloc[0]


def test_checkpoint_scores_like_the_trained_expert(trained):
    project, _, _ = trained
    expert, config = load_checkpoint(project.checkpoint("pixel"))
    manifest = pd.read_parquet(project.dataset_manifest("pixel"))
    val = manifest[manifest.split == "val"]
    scores = p_fake(expert, (project.load_image(path) for path in val.path), config.inference)
    called_fake = scores > config.inference.threshold
    accuracy = (called_fake == (val.label == "fake").to_numpy()).mean()
    assert accuracy >= 0.83


def test_training_refuses_a_dataset_version_that_was_not_validated(trained, tmp_path):
    project, _, _ = trained
    root = tmp_path / "changed"
    shutil.copytree(project.root, root, ignore=shutil.ignore_patterns("trained"))
    manifest = root / project.dataset_manifest("pixel").relative_to(project.root)
    pd.read_parquet(manifest).iloc[:-2].to_parquet(manifest, index=False)
    with pytest.raises(DatasetNotValidated, match="never validated"):
        train_pixel(params_path=str(root / "params.yaml"))
    assert not (root / "models" / "trained" / "pixel").exists()
