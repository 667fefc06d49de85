"""`make run PROFILE=...` and profile.yaml: dvc.yaml takes the params file, the commands and
every output folder from the selected profile, so each profile's dvc.lock names its own
params and its outputs never overwrite another profile's."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from dvc.repo import Repo
from typer.testing import CliRunner

from aligngemini.cli import app
from aligngemini.config import load_params
from aligngemini.profile import PROFILE_FILE, profile_vars, read_profile, write_profile
from tests.conftest import ROOT

PROFILES = ["params.yaml", "params.full.yaml"]


def test_the_tracked_profile_is_the_embedded_one():
    assert read_profile(ROOT) == profile_vars(load_params(ROOT / "params.yaml"), "params.yaml")


@pytest.fixture
def dvc_copy(tmp_path):
    """dvc.yaml, the profiles and DVC's config in a scratch git repository."""
    for name in ["dvc.yaml", *PROFILES, ".dvc/config"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def _stages(root, params_file: str) -> list:
    write_profile(root, load_params(root / params_file), params_file)
    with Repo(str(root)) as repo:
        return list(repo.index.stages)


@pytest.mark.parametrize("params_file", PROFILES)
def test_every_stage_reads_and_writes_where_its_profile_says(dvc_copy, params_file):
    params = load_params(dvc_copy / params_file)
    folders = {params.paths.data_root, params.paths.models_root, params.paths.checkpoints, params.paths.reports, params.registry.path}
    stages = _stages(dvc_copy, params_file)
    assert len(stages) == 10
    for stage in stages:
        assert stage.cmd.endswith(f"--params {params_file}"), stage.cmd
        assert {dep.def_path for dep in stage.deps if dep.def_path.endswith(".yaml")} == {params_file}
        for out in stage.outs:
            assert any(out.def_path == folder or out.def_path.startswith(f"{folder}/") for folder in folders), (stage.name, out.def_path)


def test_the_profiles_outputs_never_overlap(dvc_copy):
    outs = [{out.def_path for stage in _stages(dvc_copy, name) for out in stage.outs} for name in PROFILES]
    assert outs[0] and outs[1] and outs[0].isdisjoint(outs[1])


def _dry_run(*args):
    # Under `make test` (CI) the suite is a sub-make: without these its make would print directory lines.
    outer = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    cmd = ["make", "--no-print-directory", "-n", "run", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.splitlines()


def test_make_run_checks_selects_and_reproduces_the_profile():
    dry = _dry_run("PROFILE=full")
    assert dry[-3:] == ["aligngemini check --params params.full.yaml", "aligngemini profile params.full.yaml", "scripts/with-prefect-server dvc repro"]
    default = _dry_run()
    assert default[-3:] == ["aligngemini check --params params.yaml", "aligngemini profile params.yaml", "scripts/with-prefect-server dvc repro"]


def test_profile_needs_the_projects_dvc_yaml(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["profile", str(tmp_path / "params.yaml")])
    assert result.exit_code == 1 and "no dvc.yaml" in result.output
    assert not (tmp_path / PROFILE_FILE).exists()
