"""What a retraining has to do: which registered generators have no images yet, and which
pipeline stages DVC sees as out of date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dvc.repo import Repo

from aligngemini.catalog.db import image_counts_by_generator
from aligngemini.config import Params


@dataclass(frozen=True)
class Pending:
    new_generators: list[str]  # registered in params.yaml, no image in the catalog yet
    changed_stages: list[str]  # stages whose inputs changed since dvc.lock

    @property
    def nothing(self) -> bool:
        return not self.new_generators and not self.changed_stages


def new_generators(params: Params, catalog: Path) -> list[str]:
    counts = image_counts_by_generator(catalog) if catalog.exists() else {}
    return [entry.name for entry in params.generators if not counts.get(entry.name)]


def changed_stages(root: Path) -> list[str]:
    """`dvc status` of the project's pipeline: the stages `dvc repro` would start from."""
    with Repo(str(root)) as repo:
        return sorted(name.split(":")[-1] for name in repo.status())


def pending(params: Params, root: Path, catalog: Path) -> Pending:
    return Pending(new_generators(params, catalog), changed_stages(root))
