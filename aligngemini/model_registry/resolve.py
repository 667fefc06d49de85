"""From a version or stage name to a fused model folder on disk.

Each version lives in `registry.cache/<artifact>/<version>/`: the register flow keeps a copy
there, and on any other clone the first use fetches it with DVC's own `artifacts get` (the
version commit's dvc.lock names the folder's md5; the bytes come from the DVC cache or
remote)."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dvc.repo.artifacts import Artifacts

from aligngemini.errors import AlignGeminiError
from aligngemini.folders import swap_in
from aligngemini.model_registry.tags import RegistryError, stage_version, versions

if TYPE_CHECKING:  # the project's config imports the registry's
    from aligngemini.project import Project

_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")


class NoRegisteredModel(AlignGeminiError):
    """Nothing is registered (or in the asked stage) yet."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    version: str
    path: Path


def names_a_stage(spec: str) -> bool:
    """Whether `spec` is a stage name ("prod") rather than a version ("v0.0.2", "name@v0.0.2")."""
    return not _VERSION.match(spec.rsplit("@", 1)[-1])


def version_of(project: Project, spec: str) -> str:
    """The version `spec` names: "vX.Y.Z", "<artifact>@vX.Y.Z" or a stage such as "prod"."""
    config = project.params.registry
    spec = spec.removeprefix(f"{config.artifact}@")
    known = [v["version"] for v in versions(project.root, config.artifact)]
    if not known:
        raise NoRegisteredModel(
            f"no version of '{config.artifact}' is registered in {project.root}: train and register one with "
            "`make run` (the whole `dvc repro`), or `dvc repro register`"
        )
    if _VERSION.match(spec):
        if spec not in known:
            raise RegistryError(f"'{config.artifact}' has no version {spec} (registered: {', '.join(known)})")
        return spec
    found = stage_version(project.root, config.artifact, spec)
    if found is None:
        raise NoRegisteredModel(
            f"no version of '{config.artifact}' is in stage '{spec}' (registered: {', '.join(known)}); "
            f"promote one with `aligngemini models promote VERSION`"
        )
    return found


def cached_path(project: Project, version: str) -> Path:
    config = project.params.registry
    return project.path(config.cache) / config.artifact / version


def keep_copy(project: Project, version: str, fused_dir: Path) -> Path:
    """Store the just-registered folder as `version`'s local copy."""
    return _install(cached_path(project, version), lambda out: shutil.copytree(fused_dir, out))


def resolve_model(project: Project, spec: str = "prod") -> ResolvedModel:
    config = project.params.registry
    version = version_of(project, spec)
    target = cached_path(project, version)
    if not (target / "model.json").is_file():
        _install(target, lambda out: Artifacts.get(str(project.root), config.artifact, version=version, out=str(out)))
    return ResolvedModel(config.artifact, version, target)


def _install(target: Path, fill) -> Path:
    """`fill(folder)` into a scratch folder, then rename it to `target`: never half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        out = Path(scratch) / target.name
        fill(out)
        swap_in(out, target)
    return target
