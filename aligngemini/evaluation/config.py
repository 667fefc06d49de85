"""Typed parameters of the evaluation (the `evaluation` key of params.yaml)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from aligngemini.config_base import DType, Strict, device_field, dtype_field
from aligngemini.evaluation.perturb import CLEAN, PerturbationSpec, condition_name


class EvaluationConfig(Strict):
    perturbations: list[PerturbationSpec] = Field(description="The robustness grid: each perturbation is applied alone to every evaluation image; the clean images are always evaluated too.")
    threshold: float = Field(default=0.5, gt=0, lt=1, description="Decision threshold of the single-branch metrics: fake when the score is above it.")
    batch_size: int = Field(gt=0, description="Images scored per batch by the evaluation flow.")
    threads: int = Field(gt=0, description="Torch CPU threads of the evaluation and register flows.")
    device: str = device_field("both branches while the evaluation and register flows score images")
    dtype: DType = dtype_field("the scoring: the VLM's weights are loaded in it and the pixel expert runs under autocast in it")
    image_size: int = Field(gt=0, multiple_of=8, description="Matching: every evaluated image is centre-cropped to this side (smaller ones are left out) and every fake JPEG-compressed at a real partner's source quality, so real and fake share one size and format history (aligngemini.evaluation.images).")
    generalisation_conditions: list[str] = Field(description="Conditions the held-out-family table leads the report with: 'clean' and/or condition names of the grid (e.g. jpeg_q75).")

    @field_validator("perturbations")
    @classmethod
    def _unique(cls, specs: list[PerturbationSpec]) -> list[PerturbationSpec]:
        names = [condition_name(spec) for spec in specs]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise ValueError(f"perturbations repeat condition(s): {', '.join(dupes)}")
        return specs

    @model_validator(mode="after")
    def _known_conditions(self) -> "EvaluationConfig":
        known = [CLEAN, *(condition_name(spec) for spec in self.perturbations)]
        unknown = [name for name in self.generalisation_conditions if name not in known]
        if unknown or not self.generalisation_conditions:
            raise ValueError(f"generalisation_conditions must name evaluated conditions ({', '.join(known)}), got {self.generalisation_conditions}")
        return self
