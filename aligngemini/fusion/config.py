"""Typed parameters of the fusion of the two branches (params.yaml key `fusion`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from aligngemini.config_base import Strict


class FusionConfig(Strict):
    rule: str = Field(description="Registered fusion rule (aligngemini.fusion.rules.FUSION_RULES): 'or_fixed' (the paper's OR rule at `threshold`), 'or_calibrated' (OR rule, each branch's threshold holding `target_fpr` on the real validation images) or 'logistic' (logistic regression on the branches' logits).")
    threshold: float = Field(gt=0, lt=1, description="Threshold of both branches in the 'or_fixed' rule: fake if p_pixel or p_semantic is above it.")
    target_fpr: float = Field(gt=0, lt=1, description="'or_calibrated': the share of real validation images each branch may call fake; its threshold is set at that quantile of its real scores.")
    logistic_c: float = Field(gt=0, description="'logistic': inverse L2 regularisation strength (scikit-learn's C).")
    logit_clip: float = Field(gt=0, lt=0.5, description="'logistic': probabilities are clipped to [clip, 1 - clip] before the logit, so a branch saying exactly 0 or 1 stays finite.")

    @field_validator("rule")
    @classmethod
    def _registered(cls, rule: str) -> str:
        from aligngemini.fusion.rules import FUSION_RULES

        return FUSION_RULES.validate(rule)
