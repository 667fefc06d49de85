"""p_fake: the two-answer softmax at the answer position, independent of batching and padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aligngemini.semantic.data import Collator
from aligngemini.semantic.model import SemanticVLM, load_vlm
from aligngemini.semantic.score import classification_metrics, evaluate, score

PROMPT = "Real or fake?"


@pytest.fixture(scope="module")
def vlm(vlm_dir: Path) -> SemanticVLM:
    return load_vlm(str(vlm_dir))


def test_p_fake_is_the_softmax_of_the_two_answer_logits(vlm: SemanticVLM, make_pairs) -> None:
    images = [image for image, _ in make_pairs(3, seed=0)]
    batch = Collator(vlm.processor, PROMPT, vlm.answer_ids).unlabelled(images)
    with torch.no_grad():
        logits = vlm.model(**batch).logits[:, -1]
    real, fake = vlm.answer_ids
    expected = torch.sigmoid(logits[:, fake] - logits[:, real]).double().numpy()
    np.testing.assert_allclose(score(vlm, images, PROMPT, batch_size=3), expected, rtol=1e-5)


def test_scores_do_not_depend_on_batching_or_padding(vlm: SemanticVLM, make_pairs) -> None:
    images = [image for image, _ in make_pairs(7, seed=1)]
    images[2] = images[2].resize((32, 32))  # fewer image tokens: the other rows of its batch get no padding, it does
    images[5] = np.array(images[5])  # arrays are accepted as well as PIL images
    one_by_one = score(vlm, images, PROMPT, batch_size=1)
    batched = score(vlm, images, PROMPT, batch_size=4)
    assert one_by_one.shape == (7,) and one_by_one.dtype == np.float64
    assert ((0 < one_by_one) & (one_by_one < 1)).all()
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert not vlm.model.training


def test_evaluate_matches_score_and_metrics(vlm: SemanticVLM, make_pairs) -> None:
    pairs = make_pairs(6, seed=2)
    p_fake = score(vlm, [image for image, _ in pairs], PROMPT, batch_size=4)
    metrics = evaluate(vlm, pairs, PROMPT, batch_size=4, threshold=0.5)
    assert metrics == classification_metrics(p_fake, [label for _, label in pairs], 0.5)


def test_classification_metrics() -> None:
    metrics = classification_metrics(np.array([0.9, 0.2, 0.6, 0.4, 0.7]), ["fake", "real", "real", "fake", "fake"], 0.5)
    assert metrics == {
        "balanced_accuracy": pytest.approx((1 / 2 + 2 / 3) / 2),
        "real_accuracy": 0.5,
        "fake_accuracy": pytest.approx(2 / 3),
        "n_real": 2,
        "n_fake": 3,
    }
    only_fakes = classification_metrics(np.array([0.9]), ["fake"], 0.5)
    assert np.isnan(only_fakes["real_accuracy"]) and np.isnan(only_fakes["balanced_accuracy"])
