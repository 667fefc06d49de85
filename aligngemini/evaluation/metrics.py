"""Binary metrics of a detector's scores, fake being the positive class. A metric that a
set cannot define (one class absent) is None, never NaN, so results dump as valid JSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from aligngemini.errors import AlignGeminiError

LABELS = {"real": 0, "fake": 1}


class MetricsInputError(AlignGeminiError):
    """Labels or scores that no metric can be computed from."""


def _arrays(labels: Sequence[str], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=object)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise MetricsInputError(f"labels {labels.shape} and scores {scores.shape} must be 1-D and of the same length")
    is_fake = labels == "fake"
    if not (is_fake | (labels == "real")).all():
        unknown = sorted({str(label) for label in labels} - set(LABELS))
        raise MetricsInputError(f"unknown label(s) {', '.join(unknown)} (expected 'real' or 'fake')")
    if not np.isfinite(scores).all():
        raise MetricsInputError(f"{int((~np.isfinite(scores)).sum())} score(s) are NaN or infinite")
    return is_fake.astype(np.int64), scores


def binary_metrics(labels: Sequence[str], scores: Sequence[float], threshold: float = 0.5) -> dict[str, float | int | None]:
    """Accuracies at `threshold` (fake when score > threshold), balanced accuracy =
    (real_accuracy + fake_accuracy) / 2, threshold-free AP and ROC AUC, and the counts.
    `labels` are 'real'/'fake'."""
    is_fake, scores = _arrays(labels, scores)
    predicted_fake = scores > threshold
    real, fake = is_fake == 0, is_fake == 1
    real_accuracy = float(np.mean(~predicted_fake[real])) if real.any() else None
    fake_accuracy = float(np.mean(predicted_fake[fake])) if fake.any() else None
    both = real.any() and fake.any()
    return {
        "balanced_accuracy": (real_accuracy + fake_accuracy) / 2 if both else None,
        "real_accuracy": real_accuracy,
        "fake_accuracy": fake_accuracy,
        "ap": float(average_precision_score(is_fake, scores)) if both else None,
        "roc_auc": float(roc_auc_score(is_fake, scores)) if both else None,
        "n_real": int(real.sum()),
        "n_fake": int(fake.sum()),
    }


def roc_points(labels: Sequence[str], scores: Sequence[float]) -> list[tuple[float, float]]:
    """(fpr, tpr) of the ROC curve from (0, 0) to (1, 1), collinear points dropped; empty
    when a class is absent."""
    is_fake, scores = _arrays(labels, scores)
    if not ((is_fake == 0).any() and (is_fake == 1).any()):
        return []
    fpr, tpr, _ = roc_curve(is_fake, scores, drop_intermediate=True)
    return [(float(f), float(t)) for f, t in zip(fpr, tpr)]


def at_real_fpr(labels: Sequence[str], scores: Sequence[float], fpr: float = 0.05) -> dict[str, float | None]:
    """The operating point a deployment would pick to call at most `fpr` of reals fake:
    its threshold (fake when score >= it, as scikit-learn's ROC counts), the fakes it
    catches and the balanced accuracy there. None when a class is absent."""
    is_fake, scores = _arrays(labels, scores)
    if not ((is_fake == 0).any() and (is_fake == 1).any()):
        return {"fpr_target": fpr, "threshold_at_fpr": None, "fake_accuracy_at_fpr": None, "balanced_accuracy_at_fpr": None}
    false_positive, true_positive, thresholds = roc_curve(is_fake, scores, drop_intermediate=False)
    index = int(np.flatnonzero(false_positive <= fpr)[-1])
    return {
        "fpr_target": fpr,
        "threshold_at_fpr": float(min(thresholds[index], 1.0)),  # the first threshold is +inf: nothing called fake
        "fake_accuracy_at_fpr": float(true_positive[index]),
        "balanced_accuracy_at_fpr": float((1 - false_positive[index] + true_positive[index]) / 2),
    }
