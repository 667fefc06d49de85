import numpy as np
import pandas as pd
import pytest

from aligngemini.benchmark.metrics import BRANCHES, CI_METRICS, OVERALL, branch_metrics, differences, table

THRESHOLDS = dict.fromkeys(BRANCHES, 0.5)


def scores(n: int, quality: float, seed: int, subsets=("a", "b")) -> pd.DataFrame:
    """n reals and n fakes per subset; `quality` separates the fakes' scores from the reals'."""
    rng = np.random.default_rng(seed)
    rows = []
    for subset in subsets:
        for label, centre in (("real", 0.5 - quality / 2), ("fake", 0.5 + quality / 2)):
            for i in range(n):
                p = float(np.clip(rng.normal(centre, 0.2), 0, 1))
                rows.append({"path": f"{subset}/{label}/{i}.png", "subset": subset, "label": label, "p_fake": p, "p_pixel": p, "p_semantic": 1 - p})
    return pd.DataFrame(rows)


def test_intervals_hold_the_point_estimate_and_a_perfect_detector_has_none_to_spare():
    frame = scores(40, 0.4, seed=1)
    labels = frame["label"].to_numpy(dtype=object)
    from aligngemini.benchmark.metrics import _resamples

    metrics = branch_metrics(labels, frame["p_fake"].to_numpy(), 0.5, _resamples(labels, 100, 0))
    for key in CI_METRICS:
        low, high = metrics["ci"][key]
        assert 0 <= low <= metrics[key] <= high <= 1
    assert metrics["ci"]["roc_auc"][1] - metrics["ci"]["roc_auc"][0] > 0.01
    perfect = np.where(labels == "fake", 0.9, 0.1)
    assert branch_metrics(labels, perfect, 0.5, _resamples(labels, 20, 0))["ci"]["balanced_accuracy"] == [1.0, 1.0]


def test_the_table_has_overall_first_then_each_subset_for_every_branch():
    result = table(scores(20, 0.6, seed=2), THRESHOLDS, n_bootstrap=20)
    assert list(result) == [OVERALL, "a", "b"]
    assert all(list(by_branch) == list(BRANCHES) for by_branch in result.values())
    assert result[OVERALL]["fused"]["n_real"] == 40 and result["a"]["fused"]["n_real"] == 20
    assert result["a"]["semantic"]["roc_auc"] == pytest.approx(1 - result["a"]["pixel"]["roc_auc"])
    assert result[OVERALL]["fused"]["threshold_at_fpr"] is not None
    assert list(table(scores(20, 0.6, seed=2, subsets=("only",)), THRESHOLDS, n_bootstrap=0)) == [OVERALL]
    assert table(scores(5, 0.6, seed=2), THRESHOLDS, n_bootstrap=0)[OVERALL]["fused"]["ci"] is None


def test_a_model_compared_with_itself_differs_by_nothing_and_a_better_one_by_more_than_chance():
    weak, strong = scores(50, 0.2, seed=3), scores(50, 0.8, seed=4)
    same = differences(weak, weak, (THRESHOLDS, THRESHOLDS), n_bootstrap=50)
    assert same[OVERALL]["fused"]["roc_auc"] == {"delta": 0.0, "ci": [0.0, 0.0]}
    better = differences(weak, strong, (THRESHOLDS, THRESHOLDS), n_bootstrap=50)[OVERALL]["fused"]["balanced_accuracy"]
    assert better["delta"] > 0.2 and better["ci"][0] > 0  # the interval excludes no difference
