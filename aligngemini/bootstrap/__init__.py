"""Builders of the small local models of the embedded profile. Importing this package
registers every builder in `BUILDERS`."""

from aligngemini.bootstrap import autoencoder_kl, ddpm, pixart, stable_diffusion  # noqa: F401  (register the builders)
from aligngemini.bootstrap import autoencoder_dc, autoencoder_tiny, vq_model  # noqa: F401  (reconstructors of other decoder designs)
from aligngemini.bootstrap import qwen_vl  # noqa: F401  (registers the qwen2_5_vl builder)
from aligngemini.bootstrap import flux, stable_diffusion_xl  # noqa: F401  (tiny pipelines of the full profile's classes)
from aligngemini.bootstrap.registry import BUILDERS, BuildContext, build_model

__all__ = ["BUILDERS", "BuildContext", "build_model"]
