"""Fusion rules: how p_pixel and p_semantic become one fused p_fake.

A rule is fitted on the validation split (`fit_fusion`) into a `FusionModel`: the rule's
name and a few numbers, which is all a fused model folder stores. An image is fake iff its
fused score is above 0.5, whatever the rule.

The OR rules (the paper's fusion) call an image fake when either branch is above its own
threshold. Their fused score maps each branch's probability piecewise-linearly so that its
threshold lands on 0.5 ([0, t] -> [0, 0.5], (t, 1] -> (0.5, 1]) and takes the larger: the
decision is exactly the OR rule's, and the score still ranks images for AP and ROC curves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import isfinite
from typing import Any

import numpy as np

from aligngemini.errors import AlignGeminiError
from aligngemini.fusion.config import FusionConfig
from aligngemini.registry import Registry

REAL, FAKE = "real", "fake"
_ABOVE_HALF = float(np.nextafter(0.5, 1.0))  # so p just above t never rounds back onto 0.5

Params = Mapping[str, float]


class FusionError(AlignGeminiError):
    """Fusion inputs or a stored fusion model are unusable; the message names the key or the problem."""


@dataclass(frozen=True)
class FusionRule:
    params: tuple[str, ...]  # names of the fitted numbers, the keys of `FusionModel.params`
    needs: frozenset[str]  # labels the validation split must hold for `fit`
    fit: Callable[[FusionConfig, np.ndarray, np.ndarray, np.ndarray], dict[str, float]]  # (config, p_pixel, p_semantic, is_fake)
    score: Callable[[Params, np.ndarray, np.ndarray], np.ndarray]


FUSION_RULES: Registry[FusionRule] = Registry("fusion rule")


def _hinge(p: np.ndarray, t: float) -> np.ndarray:
    """[0, t] -> [0, 0.5] and (t, 1] -> (0.5, 1], linearly on each side."""
    below = 0.5 * p / t if t > 0 else np.zeros_like(p)  # t == 0: every p at or below it is 0
    above = 0.5 + 0.5 * (p - t) / (1 - t) if t < 1 else np.ones_like(p)  # t == 1: no p is above it
    return np.where(p > t, np.maximum(above, _ABOVE_HALF), below)


def _or_score(params: Params, p_pixel: np.ndarray, p_semantic: np.ndarray) -> np.ndarray:
    return np.maximum(_hinge(p_pixel, params["t_pixel"]), _hinge(p_semantic, params["t_semantic"]))


def _fit_fixed(config: FusionConfig, p_pixel, p_semantic, is_fake) -> dict[str, float]:
    return {"t_pixel": config.threshold, "t_semantic": config.threshold}


def calibrated_threshold(real_scores: np.ndarray, target_fpr: float) -> float:
    """The (1 - target_fpr) quantile of `real_scores` as an order statistic: at most
    floor(target_fpr * n) of them lie strictly above it."""
    ordered = np.sort(real_scores)
    allowed = int(np.floor(target_fpr * len(ordered) + 1e-9))  # 1e-9: 0.29 * 100 must give 29, not 28
    return float(ordered[len(ordered) - 1 - allowed])


def _fit_calibrated(config: FusionConfig, p_pixel, p_semantic, is_fake) -> dict[str, float]:
    return {
        "t_pixel": calibrated_threshold(p_pixel[~is_fake], config.target_fpr),
        "t_semantic": calibrated_threshold(p_semantic[~is_fake], config.target_fpr),
    }


def _logits(p: np.ndarray, clip: float) -> np.ndarray:
    p = np.clip(p, clip, 1 - clip)
    return np.log(p) - np.log1p(-p)


def _fit_logistic(config: FusionConfig, p_pixel, p_semantic, is_fake) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    features = np.column_stack([_logits(p_pixel, config.logit_clip), _logits(p_semantic, config.logit_clip)])
    # balanced class weights: the fitted decision aims at balanced accuracy, the project's metric
    model = LogisticRegression(C=config.logistic_c, class_weight="balanced").fit(features, is_fake)
    return {
        "w_pixel": float(model.coef_[0, 0]),
        "w_semantic": float(model.coef_[0, 1]),
        "bias": float(model.intercept_[0]),
        "clip": config.logit_clip,
    }


def _logistic_score(params: Params, p_pixel: np.ndarray, p_semantic: np.ndarray) -> np.ndarray:
    clip = params["clip"]
    z = params["w_pixel"] * _logits(p_pixel, clip) + params["w_semantic"] * _logits(p_semantic, clip) + params["bias"]
    return np.exp(-np.logaddexp(0.0, -z))  # sigmoid without overflow


FUSION_RULES.register("or_fixed")(FusionRule(("t_pixel", "t_semantic"), frozenset(), _fit_fixed, _or_score))
FUSION_RULES.register("or_calibrated")(FusionRule(("t_pixel", "t_semantic"), frozenset({REAL}), _fit_calibrated, _or_score))
FUSION_RULES.register("logistic")(
    FusionRule(("w_pixel", "w_semantic", "bias", "clip"), frozenset({REAL, FAKE}), _fit_logistic, _logistic_score)
)


def _probabilities(p_pixel, p_semantic) -> tuple[np.ndarray, np.ndarray]:
    pixel, semantic = np.asarray(p_pixel, dtype=np.float64), np.asarray(p_semantic, dtype=np.float64)
    if pixel.ndim != 1 or pixel.shape != semantic.shape:
        raise FusionError(f"p_pixel and p_semantic must be 1-D and of equal length: got shapes {pixel.shape} and {semantic.shape}")
    for name, values in (("p_pixel", pixel), ("p_semantic", semantic)):
        if not np.all((values >= 0) & (values <= 1)):  # NaN fails too
            raise FusionError(f"{name} must hold probabilities in [0, 1]: got values outside (or NaN)")
    return pixel, semantic


@dataclass(frozen=True)
class FusionModel:
    rule: str
    params: dict[str, float]

    def p_fake(self, p_pixel, p_semantic) -> np.ndarray:
        """Fused score in [0, 1] of each image; fake iff above 0.5."""
        pixel, semantic = _probabilities(p_pixel, p_semantic)
        return FUSION_RULES.get(self.rule).score(self.params, pixel, semantic)

    def is_fake(self, p_pixel, p_semantic) -> np.ndarray:
        return self.p_fake(p_pixel, p_semantic) > 0.5

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, document: Any) -> "FusionModel":
        """The model `to_dict` wrote; a `FusionError` names the first bad key."""
        if not isinstance(document, Mapping) or set(document) != {"rule", "params"}:
            got = sorted(document) if isinstance(document, Mapping) else type(document).__name__
            raise FusionError(f"fusion model: expected exactly the keys 'rule' and 'params', got {got}")
        rule = document["rule"]
        if not isinstance(rule, str) or rule not in FUSION_RULES:
            raise FusionError(f"fusion model: key 'rule': unknown fusion rule {rule!r} (registered: {', '.join(FUSION_RULES.names())})")
        params = document["params"]
        if not isinstance(params, Mapping):
            raise FusionError(f"fusion model: key 'params': expected a mapping, got {type(params).__name__}")
        expected = FUSION_RULES.get(rule).params
        for key in sorted(set(expected) | set(params)):
            if key not in params:
                raise FusionError(f"fusion model: key 'params.{key}': missing (rule '{rule}' needs {', '.join(expected)})")
            if key not in expected:
                raise FusionError(f"fusion model: key 'params.{key}': unknown for rule '{rule}' (expects {', '.join(expected)})")
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not isfinite(value):
                raise FusionError(f"fusion model: key 'params.{key}': expected a finite number, got {value!r}")
        return cls(rule, {key: float(params[key]) for key in expected})


def fit_fusion(config: FusionConfig, p_pixel, p_semantic, labels: Sequence[str], rule: str | None = None) -> FusionModel:
    """The fusion rule `rule` (default `config.rule`) fitted on validation
    scores and their labels ("real"/"fake")."""
    name = config.rule if rule is None else rule
    spec = FUSION_RULES.get(name)
    pixel, semantic = _probabilities(p_pixel, p_semantic)
    labels = np.asarray(labels, dtype=object)
    if labels.shape != pixel.shape:
        raise FusionError(f"fusion fit: {len(labels)} labels for {len(pixel)} scores")
    unknown = sorted(set(labels.tolist()) - {REAL, FAKE})
    if unknown:
        raise FusionError(f"fusion fit: labels must be '{REAL}' or '{FAKE}', got {unknown}")
    missing = sorted(spec.needs - set(labels.tolist()))
    if missing:
        raise FusionError(f"fusion rule '{name}' needs {' and '.join(missing)} images in the validation split, which has none")
    return FusionModel(name, spec.fit(config, pixel, semantic, labels == FAKE))
