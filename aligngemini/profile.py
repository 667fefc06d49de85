"""Which profile `dvc repro` runs: `profile.yaml` beside dvc.yaml names the params file and
the folders its outputs live in, and dvc.yaml takes every command, params dependency and
output path from it (DVC's `vars`). So dvc.lock records the params file that really ran and
its values, and each profile keeps its outputs in its own folders: after a run of the full
profile, switching back to the embedded one finds its outputs in place and its stages in
DVC's run cache, with nothing recomputed.

`aligngemini profile PARAMS` (what `make run PROFILE=...` calls) writes the file from the
params' own `paths` and `registry.path`, so the two can never disagree."""

from __future__ import annotations

from pathlib import Path

import yaml

from aligngemini.atomic import write_atomic
from aligngemini.config import Params

PROFILE_FILE = "profile.yaml"
HEADER = "# The profile `dvc repro` runs. Written by `make run PROFILE=...` (aligngemini profile); not edited by hand.\n"


def profile_vars(params: Params, params_file: str) -> dict[str, str]:
    """dvc.yaml's variables for a run of `params_file` (relative to the project root)."""
    paths = params.paths
    return {
        "params": params_file, "data_root": paths.data_root, "models_root": paths.models_root,
        "checkpoints": paths.checkpoints, "reports": paths.reports, "fused": params.registry.path,
        "prompts": params.generation.prompts_file, "captions": params.bootstrap.captions_file,
    }  # fmt: skip


def write_profile(root: Path, params: Params, params_file: str) -> Path:
    path = root / PROFILE_FILE
    write_atomic(path, HEADER + yaml.safe_dump(profile_vars(params, params_file), sort_keys=False))
    return path


def read_profile(root: Path) -> dict[str, str]:
    return yaml.safe_load((root / PROFILE_FILE).read_text(encoding="utf-8"))
