"""Fixtures of the service tests: the app over the session's tiny fused model, with a
registry of two versions whose served stage the tests can move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aligngemini.config import load_params
from aligngemini.model_registry import ResolvedModel
from aligngemini.service.config import ServiceConfig


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@dataclass
class Registry:
    """The served stage points at `stage`; `loads` lists each version loaded, in order."""

    model_dir: Path
    stage: str = "v0.0.1"
    loads: list[str] = field(default_factory=list)

    def resolve(self) -> ResolvedModel:
        return ResolvedModel("aligngemini-detector", self.stage, self.model_dir)

    def versions(self) -> list[dict]:
        return [{"version": v, "stages": ["prod"] if v == self.stage else []} for v in ("v0.0.2", "v0.0.1")]


@pytest.fixture(scope="session")
def loaded_detector(fused_project):
    from aligngemini.fusion.detector import FusedDetector

    return FusedDetector.load(fused_project.model_dir, fused_project.root)


@pytest.fixture
def registry(fused_project) -> Registry:
    return Registry(fused_project.model_dir)


@pytest.fixture
def make_app(fused_project, loaded_detector, registry) -> Callable[..., object]:
    """create_app over the tiny model (loaded once per session; each load is recorded)."""
    from aligngemini.service.app import create_app
    from aligngemini.service.holder import ModelHolder

    limits = load_params(fused_project.params).images

    def load(model: ResolvedModel):
        registry.loads.append(model.version)
        return loaded_detector

    def make(token: str | None = None, watch: bool = False, max_bytes: int | None = None, max_batch_pixels: int | None = None, **config: object):
        holder = ModelHolder(registry.resolve, load)
        changed = {"max_bytes": max_bytes, "max_batch_pixels": max_batch_pixels}
        capped = limits.model_copy(update={key: value for key, value in changed.items() if value is not None})
        return create_app(holder, ServiceConfig(**config), capped, registry.versions, token=token, watch=watch)

    return make
