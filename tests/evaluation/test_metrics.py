import json
import math

import pytest

from aligngemini.evaluation.metrics import MetricsInputError, at_real_fpr, binary_metrics, roc_points

LABELS = ["real", "real", "fake", "fake"]


def test_perfect_detector_scores_one_everywhere():
    metrics = binary_metrics(LABELS, [0.1, 0.2, 0.8, 0.9])
    assert metrics == {
        "balanced_accuracy": 1.0, "real_accuracy": 1.0, "fake_accuracy": 1.0,
        "ap": 1.0, "roc_auc": 1.0, "n_real": 2, "n_fake": 2,
    }  # fmt: skip


def test_inverted_detector_scores_zero():
    metrics = binary_metrics(LABELS, [0.9, 0.8, 0.2, 0.1])
    assert metrics["balanced_accuracy"] == 0.0
    assert metrics["roc_auc"] == 0.0


def test_hand_computed_values():
    # reals 0.1, 0.6, 0.3 (one false alarm at 0.5); fakes 0.7, 0.4 (one miss)
    labels = ["real", "real", "real", "fake", "fake"]
    metrics = binary_metrics(labels, [0.1, 0.6, 0.3, 0.7, 0.4])
    assert metrics["real_accuracy"] == pytest.approx(2 / 3)
    assert metrics["fake_accuracy"] == pytest.approx(1 / 2)
    assert metrics["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    # ranking 0.7(f) 0.6(r) 0.4(f) 0.3(r) 0.1(r): AP = (1/1 + 2/3) / 2; AUC = 5 of 6 (fake, real) pairs ordered
    assert metrics["ap"] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics["roc_auc"] == pytest.approx(5 / 6)


def test_score_equal_to_threshold_counts_as_real():
    metrics = binary_metrics(["real", "fake"], [0.5, 0.5], threshold=0.5)
    assert metrics["real_accuracy"] == 1.0 and metrics["fake_accuracy"] == 0.0


def test_threshold_moves_the_decision():
    assert binary_metrics(["real", "fake"], [0.3, 0.4], threshold=0.35)["balanced_accuracy"] == 1.0
    assert binary_metrics(["real", "fake"], [0.3, 0.4], threshold=0.5)["balanced_accuracy"] == 0.5


@pytest.mark.parametrize("labels", [["real", "real"], ["fake", "fake"], []])
def test_absent_class_gives_none_and_valid_json(labels):
    metrics = binary_metrics(labels, [0.3, 0.7][: len(labels)])
    assert metrics["balanced_accuracy"] is None and metrics["ap"] is None and metrics["roc_auc"] is None
    present = "real_accuracy" if "real" in labels else "fake_accuracy"
    assert labels == [] or metrics[present] is not None
    text = json.dumps(metrics, allow_nan=False)  # raises on NaN
    assert "NaN" not in text
    assert roc_points(labels, [0.3, 0.7][: len(labels)]) == []


def test_roc_points_run_from_origin_to_one():
    points = roc_points(["real", "real", "fake", "fake"], [0.1, 0.6, 0.4, 0.9])
    assert points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0)
    assert all(isinstance(value, float) for point in points for value in point)
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(points, points[1:]))


def test_bad_inputs_are_refused():
    with pytest.raises(MetricsInputError, match="unknown label"):
        binary_metrics(["real", "synthetic"], [0.1, 0.2])
    with pytest.raises(MetricsInputError, match="NaN"):
        binary_metrics(["real", "fake"], [0.1, math.nan])
    with pytest.raises(MetricsInputError, match="same length"):
        binary_metrics(["real", "fake"], [0.1])


def test_the_five_percent_fpr_point_calls_at_most_five_percent_of_reals_fake():
    reals, fakes = [i / 100 for i in range(100)], [0.5 + i / 200 for i in range(100)]  # 0.00..0.99, 0.50..0.995
    labels = ["real"] * 100 + ["fake"] * 100
    point = at_real_fpr(labels, reals + fakes, 0.05)
    called_fake_reals = sum(score >= point["threshold_at_fpr"] for score in reals)
    caught = sum(score >= point["threshold_at_fpr"] for score in fakes)
    assert called_fake_reals <= 5 and point["fake_accuracy_at_fpr"] == caught / 100
    assert point["balanced_accuracy_at_fpr"] == pytest.approx((1 - called_fake_reals / 100 + caught / 100) / 2)
    assert at_real_fpr(["fake", "fake"], [0.1, 0.9])["threshold_at_fpr"] is None
