"""The semantic branch's training flow on the session's embedded pipeline, with the
repository's params: it reads only its own validated dataset, learns real from generated,
and its saved adapter scores like the trained model."""

import json

import numpy as np
import pandas as pd
import pytest

from aligngemini.catalog.trainings import trainings
from aligngemini.generation.pipelines import resolve_model
from aligngemini.semantic.data import read_split
from aligngemini.semantic.model import load_detector
from aligngemini.semantic.score import classification_metrics, score


@pytest.fixture(scope="module")
def trained(trained_project):
    return trained_project.project, trained_project.metrics["semantic"], trained_project.opened["semantic"]


def test_only_semantic_dataset_images_reach_the_training(trained, dataset_members):
    project, _, opened = trained
    (record,) = trainings(project.catalog, "semantic")
    assert record["dataset"] == "semantic"
    assert opened, "the training opened no image"
    assert opened <= dataset_members(project, md5=record["dataset_md5"]), "opened images outside its dataset version"
    assert not opened & dataset_members(project, dataset="pixel"), "a pixel dataset image reached the training"


def test_vlm_learns_real_from_generated(trained):
    project, metrics, _ = trained
    print("semantic metrics:", json.dumps(metrics))
    # measured 0.79 (real 0.58, fake 1.00 of 24 each) on the reconstructions of the registry's
    # recon-vae, at 20 epochs and at 30 alike; topic still separates this tiny set (issue 16)
    assert metrics["val"]["balanced_accuracy"] >= 0.75
    assert json.loads((project.reports / "semantic" / "metrics.json").read_text()) == metrics
    steps = pd.read_csv(project.reports / "semantic" / "steps.csv")
    assert steps.loss.tail(5).mean() < steps.loss.head(5).mean()


def test_saved_adapter_scores_like_the_reported_metrics(trained):
    project, metrics, _ = trained
    cfg = project.params.semantic
    detector = load_detector(resolve_model(cfg.model, project.root), project.checkpoint("semantic"), cfg.dtype, cfg.device)
    val, problems = read_split(project.dataset_manifest("semantic"), {"val"}, project.data_root, project.root, project.params.images)
    assert not problems
    p_fake = score(detector, [image for image, _ in val], cfg.prompt, cfg.eval_batch_size)
    reloaded = classification_metrics(p_fake, [label for _, label in val], cfg.threshold)
    assert np.isclose(reloaded["balanced_accuracy"], metrics["val"]["balanced_accuracy"])
