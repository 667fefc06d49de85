"""One run per data root: every `python -m flows.<name>` takes the run lock when it parses
its command line (flows/cli_args.py); a second run fails at once or waits, per
`runs.on_busy`; the stages that the retrain flow's `dvc repro` starts inherit the holding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from aligngemini.config import RunsConfig
from aligngemini.run_lock import RunBusy, lock_path, run_lock
from tests.conftest import ROOT, make_project

# What a stage does before its flow runs: parse `--params` (which takes the lock), then say so.
STAGE = "import sys; from flows.cli_args import params_parser; params_parser(None).parse_args(['--params', sys.argv[1]]); print('held', flush=True); "
HOLD = STAGE + "sys.stdin.read()"
# The retrain flow's shape: hold the lock and run a stage as a child process.
PARENT = STAGE + "import subprocess; child = subprocess.run([sys.executable, '-c', " + repr(STAGE) + ", sys.argv[1]], capture_output=True, text=True, timeout=60); print(child.returncode, child.stderr, flush=True)"


def _project(tmp_path: Path, name: str, **runs: object) -> Path:
    def edit(params: dict) -> None:
        params["runs"].update(runs)
        params["catalog"]["lock_timeout_s"] = 0.5

    (tmp_path / name).mkdir()
    return make_project(tmp_path / name, edit)


def _start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holder(params: Path) -> subprocess.Popen:
    proc = _start(HOLD, params)
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def test_a_second_run_on_the_data_root_fails_at_once_naming_the_lock_and_the_holder(tmp_path):
    params = _project(tmp_path, "p", on_busy="fail", wait_timeout_s=3600)
    first = _holder(params)
    try:
        second = subprocess.run([sys.executable, "-c", HOLD, str(params)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        _stop(first)
    assert second.returncode == 1 and "held" not in second.stdout
    assert str(lock_path(params.parent / "data")) in second.stderr and f"PID {first.pid} on " in second.stderr
    other = _project(tmp_path, "other", on_busy="fail", wait_timeout_s=3600)
    assert _start(HOLD, other).communicate("", timeout=60)[0].strip() == "held", "another data root has its own lock"


def test_in_wait_mode_a_second_run_waits_until_the_first_is_gone(tmp_path):
    params = _project(tmp_path, "p", on_busy="wait", wait_timeout_s=3600)
    first = _holder(params)
    second = _start(HOLD, params)
    try:
        time.sleep(2)
        assert second.poll() is None, second.stderr.read()
        os.kill(first.pid, signal.SIGKILL)  # a killed run leaves no stale lock
        first.communicate(timeout=30)
        assert second.stdout.readline().strip() == "held"
    finally:
        _stop(first)
        _stop(second)


def test_a_run_that_waits_past_the_timeout_fails_naming_the_holder(tmp_path):
    params = _project(tmp_path, "p", on_busy="wait", wait_timeout_s=0.5)
    first = _holder(params)
    try:
        second = subprocess.run([sys.executable, "-c", HOLD, str(params)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        _stop(first)
    assert second.returncode == 1
    assert f"PID {first.pid} on " in second.stderr and "after 0.5 s of waiting (runs.wait_timeout_s)" in second.stderr


def test_a_stage_started_by_the_holder_goes_on_without_waiting(tmp_path):
    params = _project(tmp_path, "p", on_busy="fail", wait_timeout_s=3600)
    parent = _start(PARENT, params)
    out, err = parent.communicate("", timeout=120)
    assert parent.returncode == 0, err
    assert out.split("\n")[:2] == ["held", "0 "], out


def test_the_holders_own_process_takes_the_lock_again_and_a_stale_token_does_not(tmp_path, monkeypatch):
    runs = RunsConfig(on_busy="fail", wait_timeout_s=3600)
    with run_lock(tmp_path, runs), run_lock(tmp_path, runs):  # `python -m flows.retrain`: its main, then the flow
        pass
    holder = _holder(_project(tmp_path, "p", on_busy="fail", wait_timeout_s=3600))
    try:
        monkeypatch.setenv("ALIGNGEMINI_RUN_LOCK", "0" * 32)
        with pytest.raises(RunBusy, match=f"PID {holder.pid} on "):
            with run_lock(tmp_path / "p" / "data", runs):
                pass
    finally:
        _stop(holder)


def test_a_stage_merges_with_the_catalog_lock_timeout_of_its_params(tmp_path):
    params = _project(tmp_path, "p", on_busy="fail", wait_timeout_s=3600)
    db = tmp_path / "catalog.duckdb"
    duckdb.connect(str(db)).close()
    reader = _start(f"import duckdb, sys; c = duckdb.connect({str(db)!r}, read_only=True); print('ready', flush=True); sys.stdin.read()")
    try:
        assert reader.stdout.readline().strip() == "ready"
        merge = STAGE + f"from aligngemini.catalog.db import Catalog; Catalog({str(db)!r})"
        stage = subprocess.run([sys.executable, "-c", merge, str(params)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        _stop(reader)
    assert stage.returncode == 1
    assert "CatalogBusy" in stage.stderr and f"in use by PID {reader.pid} " in stage.stderr and "after 0.5 s" in stage.stderr
