"""The promotion gate: a candidate replaces production only if it is at least as good on the
held-out evaluation and does not flag noticeably more real images as fake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aligngemini.model_registry.config import GateConfig

FUSED = "fused"  # the evaluation's column of the model's own (chosen) fusion rule
CLEAN = "clean"


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str


def fused_figures(metrics: Mapping, metric_set: str) -> tuple[float, float]:
    """(balanced accuracy, real accuracy) of the fused detector on clean images of `metric_set`."""
    try:
        figures = metrics["sets"][metric_set][CLEAN][FUSED]
        return float(figures["balanced_accuracy"]), float(figures["real_accuracy"])
    except (KeyError, TypeError) as exc:
        raise KeyError(f"evaluation metrics lack sets.{metric_set}.{CLEAN}.{FUSED} balanced/real accuracy") from exc


def decide(
    candidate: Mapping, baseline: Mapping | None, config: GateConfig, baseline_version: str | None = None, candidate_version: str | None = None
) -> GateDecision:
    """Gate `candidate` against `baseline` (both evaluation metrics of the same images; None
    when nothing is in the stage yet)."""
    cand_bacc, cand_real = fused_figures(candidate, config.metric_set)
    if candidate_version is not None and baseline_version == candidate_version:
        return GateDecision(True, f"already in {config.stage}: a run that stopped before recording its decision promoted it (balanced accuracy {cand_bacc:.4f})")
    if baseline is None:
        return GateDecision(True, f"no {config.stage} model yet; candidate balanced accuracy {cand_bacc:.4f} on '{config.metric_set}'")
    base_bacc, base_real = fused_figures(baseline, config.metric_set)
    figures = (
        f"on '{config.metric_set}': balanced accuracy {cand_bacc:.4f} vs {base_bacc:.4f} ({baseline_version}), "
        f"real accuracy {cand_real:.4f} vs {base_real:.4f} (tolerance {config.real_accuracy_tolerance})"
    )
    if cand_bacc < base_bacc:
        return GateDecision(False, f"refused: balanced accuracy is below {config.stage}'s {figures}")
    if base_real - cand_real > config.real_accuracy_tolerance:
        return GateDecision(False, f"refused: real accuracy dropped by more than the tolerance {figures}")
    return GateDecision(True, f"promoted: at least as good as {config.stage} {figures}")
