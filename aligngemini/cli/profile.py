"""`aligngemini profile PARAMS`: make PARAMS the profile that `dvc repro` runs
(aligngemini/profile.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligngemini.cli.common import fail, load_project_or_fail
from aligngemini.profile import write_profile


def profile(params: Annotated[str, typer.Argument(metavar="PARAMS", help="The profile's params file, beside dvc.yaml (params.yaml, params.full.yaml).")]) -> None:
    """Write profile.yaml so that `dvc repro` runs this params file, with its outputs in the folders its `paths` name."""
    project = load_project_or_fail(params)
    if not (project.root / "dvc.yaml").is_file():
        fail(f"{params}: no dvc.yaml beside it in {project.root}: a profile is run from the project's root")
    written = write_profile(project.root, project.params, Path(params).name)
    typer.echo(f"{written}: dvc repro now runs {Path(params).name}")
