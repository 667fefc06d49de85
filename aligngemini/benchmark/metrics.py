"""The benchmark table: per subset and overall, for each branch and the fused decision, the
metrics every detector paper reports, with 95 % bootstrap confidence intervals, and the
paired differences between models scored on the same images.

The bootstrap is stratified: reals and fakes are resampled separately, keeping their counts,
so every resample defines every metric, as the fixed class counts of a benchmark do."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import sklearn

from aligngemini.evaluation.metrics import at_real_fpr, binary_metrics

BRANCHES = ("fused", "pixel", "semantic")
SCORE_COLUMNS = {"fused": "p_fake", "pixel": "p_pixel", "semantic": "p_semantic"}
CI_METRICS = ("balanced_accuracy", "real_accuracy", "fake_accuracy", "roc_auc", "ap")
DIFFERENCE_METRICS = ("balanced_accuracy", "roc_auc", "ap")
OVERALL = "overall"
FPR_TARGET = 0.05


def _resamples(labels: np.ndarray, n_bootstrap: int, seed: int) -> Callable[[], Iterator[np.ndarray]]:
    """A function giving the same `n_bootstrap` stratified index arrays each time it is
    called, one at a time: every branch (and both models of a pair) sees the same resamples,
    and no more than one is held in memory."""
    groups = [np.flatnonzero(labels == label) for label in ("real", "fake")]

    def resamples() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(seed)
        for _ in range(n_bootstrap):
            yield np.concatenate([rng.choice(group, len(group)) for group in groups if len(group)])

    return resamples


def _boots(metric: Callable[[np.ndarray], dict], resamples: Callable[[], Iterator[np.ndarray]]) -> list[dict]:
    # Inputs are checked once, on the whole set: scikit-learn's per-call validation would
    # otherwise cost more than the metrics themselves.
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return [metric(index) for index in resamples()]


def _interval(values: Sequence[float | None]) -> list[float] | None:
    finite = [value for value in values if value is not None]
    if not finite:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return [float(low), float(high)]


def branch_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float, resamples: Callable[[], Iterator[np.ndarray]]) -> dict:
    """`binary_metrics` at the model's threshold, the 5 % real-FPR operating point, and
    `ci`: metric -> [2.5 %, 97.5 %] over `resamples` (index arrays), None without any."""
    metrics: dict = binary_metrics(labels, scores, threshold) | at_real_fpr(labels, scores, FPR_TARGET)
    boots = _boots(lambda index: binary_metrics(labels[index], scores[index], threshold), resamples)
    metrics["ci"] = {key: _interval([boot[key] for boot in boots]) for key in CI_METRICS} if boots else None
    return metrics


def _subsets(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    groups = {str(name): rows for name, rows in scores.groupby("subset", sort=True)}
    return {OVERALL: scores, **groups} if len(groups) > 1 else {OVERALL: scores}


def table(scores: pd.DataFrame, thresholds: Mapping[str, float], n_bootstrap: int, seed: int = 0) -> dict[str, dict[str, dict]]:
    """subset ('overall' first) -> branch -> metrics, over the scored rows of one model and
    condition (`scores` has subset, label and one column per branch score)."""
    result = {}
    for subset, rows in _subsets(scores).items():
        labels = rows["label"].to_numpy(dtype=object)
        resamples = _resamples(labels, n_bootstrap, seed)
        result[subset] = {
            branch: branch_metrics(labels, rows[SCORE_COLUMNS[branch]].to_numpy(dtype=np.float64), thresholds[branch], resamples)
            for branch in BRANCHES
        }
    return result


def differences(
    base: pd.DataFrame, other: pd.DataFrame, thresholds: tuple[Mapping[str, float], Mapping[str, float]], n_bootstrap: int, seed: int = 0
) -> dict[str, dict[str, dict]]:
    """subset -> branch -> metric -> {delta, ci} of `other` minus `base`, on the images
    both scored (joined on path), each resample taking the same images for both."""
    joined = base.merge(other, on=["path", "subset", "label"], suffixes=("_base", "_other"))
    result = {}
    for subset, rows in _subsets(joined).items():
        labels = rows["label"].to_numpy(dtype=object)
        resamples = _resamples(labels, n_bootstrap, seed)
        result[subset] = {}
        for branch in BRANCHES:
            column = SCORE_COLUMNS[branch]
            pair = [rows[f"{column}_{side}"].to_numpy(dtype=np.float64) for side in ("base", "other")]

            def delta(index: np.ndarray | slice) -> dict:
                a, b = (binary_metrics(labels[index], s[index], t[branch]) for s, t in zip(pair, thresholds))
                return {key: None if a[key] is None or b[key] is None else b[key] - a[key] for key in DIFFERENCE_METRICS}

            point, boots = delta(slice(None)), _boots(delta, resamples)
            result[subset][branch] = {
                key: {"delta": point[key], "ci": _interval([boot[key] for boot in boots]) if boots else None} for key in DIFFERENCE_METRICS
            }
    return result
