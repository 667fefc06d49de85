"""The promotion gate's rule on evaluation metrics."""

import pytest

from aligngemini.model_registry.config import GateConfig
from aligngemini.model_registry.gate import decide

GATE = GateConfig(stage="prod", candidate_stage="dev", metric_set="all", real_accuracy_tolerance=0.02)


def _metrics(balanced: float, real: float) -> dict:
    return {"sets": {"all": {"clean": {"fused": {"balanced_accuracy": balanced, "real_accuracy": real}}}}}


def test_first_candidate_is_promoted():
    decision = decide(_metrics(0.7, 0.9), None, GATE)
    assert decision.promoted and "no prod model yet" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "promoted", "says"),
    [
        (_metrics(0.90, 0.95), True, "promoted"),  # same figures: at least as good
        (_metrics(0.95, 0.94), True, "promoted"),  # better, real accuracy within tolerance
        (_metrics(0.89, 0.99), False, "balanced accuracy is below"),
        (_metrics(0.97, 0.92), False, "real accuracy dropped"),  # better overall, but 0.03 more false alarms
    ],
)
def test_candidate_against_production(candidate, promoted, says):
    decision = decide(candidate, _metrics(0.90, 0.95), GATE, baseline_version="v0.0.1")
    assert decision.promoted is promoted
    assert says in decision.reason and "v0.0.1" in decision.reason


def test_missing_figures_are_named():
    with pytest.raises(KeyError, match=r"sets\.all\.clean\.fused"):
        decide({"sets": {"test": {}}}, None, GATE)
