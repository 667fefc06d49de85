"""From a table of scores (one row per image and condition) to metrics per evaluation set,
condition, generator, held-out family and detector, and the flat rows DVC plots and the
report read.

Evaluation sets are data (`SETS`): each pairs some fakes with ALL reals, so every set's
balanced accuracy weighs the same reals against different generators. Generalisation comes
first: `heldout` (every fake of a held-out reconstructor or generator family), then each
kind, then the in-distribution `test` set and `all`. Each held-out family is also measured
on its own (`per_family`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aligngemini.errors import AlignGeminiError
from aligngemini.evaluation.images import HELDOUT_SPLITS
from aligngemini.evaluation.metrics import LABELS, binary_metrics, roc_points
from aligngemini.evaluation.perturb import CLEAN

# set name -> the splits its fakes come from; None takes every fake.
SETS: dict[str, tuple[str, ...] | None] = {
    "heldout": HELDOUT_SPLITS,
    "heldout_reconstructors": ("heldout_reconstructors",),
    "heldout_generators": ("heldout_generators",),
    "test": ("test",),
    "all": None,
}
ABLATION_SETS = ("heldout", "test")
COLUMNS = ("sha256", "split", "label", "generator", "condition")
METRIC_NAMES = ("balanced_accuracy", "real_accuracy", "fake_accuracy", "ap", "roc_auc")
GENERATOR_METRICS = ("balanced_accuracy", "fake_accuracy", "ap", "roc_auc")


class ScoresTableError(AlignGeminiError):
    """The scores table lacks a column, repeats a row, or holds a value no metric accepts."""


class UnknownNameError(AlignGeminiError, KeyError):
    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


Metrics = dict[str, float | int | None]


@dataclass(frozen=True)
class Evaluation:
    """`metrics`: set -> condition -> detector -> `binary_metrics`; `per_generator` (set
    'all'): condition -> generator -> detector -> metrics of that generator's fakes with
    all reals; `per_family`: the same per held-out family, whose kind (the split its
    fakes come from) `families` gives; `roc` (clean condition): set -> detector -> (fpr,
    tpr) points."""

    detectors: list[str]
    conditions: list[str]
    generators: list[str]
    threshold: float
    metrics: dict[str, dict[str, dict[str, Metrics]]]
    per_generator: dict[str, dict[str, dict[str, Metrics]]]
    roc: dict[str, dict[str, list[tuple[float, float]]]]
    families: dict[str, str]
    per_family: dict[str, dict[str, dict[str, Metrics]]]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-serialisable, in a stable order."""
        return {
            "threshold": self.threshold,
            "detectors": self.detectors,
            "conditions": self.conditions,
            "generators": self.generators,
            "metrics": self.metrics,
            "per_generator": self.per_generator,
            "families": self.families,
            "per_family": self.per_family,
            "roc": {name: {d: [list(point) for point in points] for d, points in curves.items()} for name, curves in self.roc.items()},
        }

    def roc_rows(self) -> list[dict[str, Any]]:
        return [
            {"detector": detector, "set": name, "fpr": fpr, "tpr": tpr}
            for name, curves in self.roc.items()
            for detector, points in curves.items()
            for fpr, tpr in points
        ]

    def generator_rows(self, condition: str = CLEAN) -> list[dict[str, Any]]:
        by_generator = self.per_generator[self._condition(condition)]
        return [
            {"generator": generator, "detector": detector, **{key: metrics[key] for key in GENERATOR_METRICS}}
            for generator, by_detector in by_generator.items()
            for detector, metrics in by_detector.items()
        ]

    def generalisation(self, conditions: Sequence[str]) -> dict[str, Any]:
        """Held-out family -> its kind and, per condition, each detector's metrics: what the
        report and metrics.json lead with."""
        conditions = [self._condition(condition) for condition in conditions]
        return {
            family: {"kind": kind, **{condition: self.per_family[condition][family] for condition in conditions}}
            for family, kind in self.families.items()
        }

    def ablation_rows(self, condition: str = CLEAN) -> list[dict[str, Any]]:
        """One row per detector: its metrics on the test and the held-out set, keys
        '<set>_<metric>'."""
        condition = self._condition(condition)
        return [
            {
                "detector": detector,
                **{
                    f"{name}_{key}": self.metrics[name][condition][detector][key]
                    for name in ABLATION_SETS
                    for key in METRIC_NAMES
                },
            }
            for detector in self.detectors
        ]

    def robustness_rows(self, detector: str) -> list[dict[str, Any]]:
        if detector not in self.detectors:
            raise UnknownNameError(f"unknown detector '{detector}' (evaluated: {', '.join(self.detectors)})")
        return [
            {"condition": condition, "set": name, **{key: self.metrics[name][condition][detector][key] for key in METRIC_NAMES}}
            for condition in self.conditions
            for name in SETS
        ]

    def _condition(self, condition: str) -> str:
        if condition not in self.conditions:
            raise UnknownNameError(f"unknown condition '{condition}' (evaluated: {', '.join(self.conditions)})")
        return condition


def _check(scores: pd.DataFrame, detectors: Sequence[str]) -> None:
    if not detectors or len(set(detectors)) != len(detectors):
        raise ScoresTableError(f"detectors must be a non-empty list of distinct columns, got {list(detectors)}")
    missing = [column for column in (*COLUMNS, *detectors) if column not in scores.columns]
    if missing:
        raise ScoresTableError(f"scores table lacks column(s): {', '.join(missing)}")
    unknown = sorted(set(scores["label"].astype(str)) - set(LABELS))
    if unknown:
        raise ScoresTableError(f"scores table column 'label' holds {', '.join(unknown)} (expected 'real' or 'fake')")
    nameless = scores["label"].eq("fake") & scores["generator"].isna()
    if nameless.any():
        raise ScoresTableError(f"scores table: {int(nameless.sum())} fake row(s) have no 'generator'")
    repeated = scores.duplicated(["sha256", "condition"])
    if repeated.any():
        first = scores[repeated].iloc[0]
        raise ScoresTableError(f"scores table repeats (sha256, condition) {int(repeated.sum())} time(s), e.g. ({first['sha256']}, {first['condition']})")
    for detector in detectors:
        values = pd.to_numeric(scores[detector], errors="coerce")
        if values.isna().any():
            raise ScoresTableError(f"scores table column '{detector}' has {int(values.isna().sum())} missing or non-numeric score(s)")


def _order(present: set[str], conditions: Sequence[str] | None) -> list[str]:
    if CLEAN not in present:
        raise ScoresTableError(f"scores table has no '{CLEAN}' condition (found: {', '.join(sorted(present)) or 'none'})")
    if conditions is None:
        return [CLEAN] + sorted(present - {CLEAN})
    if set(conditions) != present or len(set(conditions)) != len(conditions):
        raise ScoresTableError(f"scores table conditions {sorted(present)} differ from the expected {list(conditions)}")
    return list(conditions)


def _metrics_by_detector(rows: pd.DataFrame, detectors: Sequence[str], threshold: float) -> dict[str, Metrics]:
    return {detector: binary_metrics(rows["label"].tolist(), rows[detector].to_numpy(float), threshold) for detector in detectors}


def summarise(
    scores: pd.DataFrame, detectors: Sequence[str], threshold: float = 0.5, conditions: Sequence[str] | None = None
) -> Evaluation:
    """Metrics of each detector column of `scores` (columns sha256, split, label, generator,
    condition and the detectors). `conditions` fixes their order (the config's grid);
    by default 'clean' comes first, then the rest by name. 'clean' must be present."""
    _check(scores, detectors)
    order = _order(set(scores["condition"].astype(str)), conditions)
    detectors = list(detectors)
    is_real = scores["label"].eq("real")
    fake_split = scores["split"].where(~is_real)
    fake_generator = scores["generator"].where(~is_real).astype(str)
    family = scores["family"].fillna(scores["generator"]) if "family" in scores.columns else scores["generator"]
    fake_family = family.where(~is_real).astype(str)
    in_set = {name: is_real | (~is_real if splits is None else fake_split.isin(splits)) for name, splits in SETS.items()}
    generators = sorted(fake_generator[~is_real].unique())
    heldout = ~is_real & fake_split.isin(HELDOUT_SPLITS)
    families = dict(sorted(zip(fake_family[heldout], fake_split[heldout]), key=lambda item: (HELDOUT_SPLITS.index(item[1]), item[0])))

    metrics: dict[str, dict[str, dict[str, Metrics]]] = {name: {} for name in SETS}
    per_generator: dict[str, dict[str, dict[str, Metrics]]] = {}
    per_family: dict[str, dict[str, dict[str, Metrics]]] = {}
    for condition in order:
        here = scores["condition"].eq(condition)
        for name in SETS:
            metrics[name][condition] = _metrics_by_detector(scores[here & in_set[name]], detectors, threshold)
        per_generator[condition] = {
            generator: _metrics_by_detector(scores[here & (is_real | fake_generator.eq(generator))], detectors, threshold)
            for generator in generators
        }
        per_family[condition] = {
            name: _metrics_by_detector(scores[here & (is_real | (heldout & fake_family.eq(name)))], detectors, threshold)
            for name in families
        }

    clean = scores["condition"].eq(CLEAN)
    roc = {
        name: {detector: roc_points(rows["label"].tolist(), rows[detector].to_numpy(float)) for detector in detectors}
        for name, rows in ((name, scores[clean & in_set[name]]) for name in SETS)
    }
    return Evaluation(detectors, order, generators, float(threshold), metrics, per_generator, roc, families, per_family)
