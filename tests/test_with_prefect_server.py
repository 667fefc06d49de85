"""scripts/with-prefect-server: the command runs against one real Prefect server, started for
it and stopped after, or the user's own when PREFECT_API_URL names one."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "with-prefect-server"
# the command a stage would be: it asks the server it was given whether it is up
PROBE = [sys.executable, "-c", "import os, urllib.request; url = os.environ['PREFECT_API_URL']; urllib.request.urlopen(url + '/health', timeout=5); print(url)"]


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "PREFECT_HOME": str(tmp_path / "prefect"), **extra}


def test_a_server_is_started_for_the_command_and_stopped_after(tmp_path):
    done = subprocess.run([str(SCRIPT), *PROBE], env=_env(tmp_path), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
    assert "Prefect server at" in done.stderr and (tmp_path / "prefect" / "server.log").is_file()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/health", timeout=2)


def test_the_users_server_is_used_and_the_commands_exit_code_kept(tmp_path):
    given = "http://127.0.0.1:9/api"  # nothing listens there: the script must not start or probe anything
    echoed = subprocess.run([str(SCRIPT), sys.executable, "-c", "import os; print(os.environ['PREFECT_API_URL'])"],
                            env=_env(tmp_path, PREFECT_API_URL=given), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (echoed.returncode, echoed.stdout.strip(), echoed.stderr) == (0, given, "")
    failed = subprocess.run([str(SCRIPT), sys.executable, "-c", "raise SystemExit(3)"], env=_env(tmp_path, PREFECT_API_URL=given), timeout=60)
    assert failed.returncode == 3
    assert not (tmp_path / "prefect").exists()
