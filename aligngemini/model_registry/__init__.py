"""The fused model registry: versions and stages as GTO tags, the bytes in DVC, the lineage
and decisions in the catalog."""

from aligngemini.model_registry.resolve import NoRegisteredModel, ResolvedModel, resolve_model

__all__ = ["NoRegisteredModel", "ResolvedModel", "resolve_model"]
