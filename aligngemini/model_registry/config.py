"""The model registry's settings (the `registry:` block of params.yaml)."""

from __future__ import annotations

from pydantic import Field

from aligngemini.config_base import Strict


class GateConfig(Strict):
    stage: str = Field(description="The stage the gate guards (a GTO stage tag, e.g. 'prod').")
    candidate_stage: str = Field(description="The stage every registered candidate gets first (e.g. 'dev').")
    metric_set: str = Field(description="Evaluation set the gate compares on (aligngemini.evaluation.summary.SETS): 'heldout' (every held-out reconstructor and generator family: generalisation, the default), 'heldout_reconstructors', 'heldout_generators', 'test' (in-distribution) or 'all'.")
    real_accuracy_tolerance: float = Field(ge=0, le=1, description="Largest drop in real-image accuracy (absolute) a candidate may show against production.")


class RegistryConfig(Strict):
    artifact: str = Field(description="Name of the fused model in dvc.yaml's `artifacts:`; GTO tags are `<artifact>@vX.Y.Z` and `<artifact>#<stage>#N`.")
    path: str = Field(description="The fused model folder the evaluate stage writes (the artifact's path in dvc.yaml).")
    cache: str = Field(description="Where resolved versions are materialised for `detect`, one folder per version (not tracked).")
    author: str = Field(description="Name on the registry's git commits and tags.")
    author_email: str = Field(description="E-mail on the registry's git commits and tags.")
    gate: GateConfig
