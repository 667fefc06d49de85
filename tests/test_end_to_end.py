"""The embedded pipeline from scratch in a copy of this working tree, then the life of a
deployment: a new generator appears, the retrain flow generates only its images and
registers a model whose lineage includes it; the same flow served as a scheduled Prefect
deployment on a real `prefect server start`, triggered through the API."""

import json
import socket
import subprocess
import sys
import time
from contextlib import closing

import httpx
import pytest
import yaml

from tests.dvc_project import clone, dvc_env, run

pytestmark = pytest.mark.slow

NEW = {"name": "tiny-sd-fast", "pipeline": "auto", "model": "models/embedded/tiny-sd", "steps": 4, "guidance": 2.0, "resolution": 64, "seed": 4000}


def _counts(root, env) -> dict[str, int]:
    stats = json.loads(run(["aligngemini", "catalog", "stats", "--json"], root, env))
    return stats["images_by_generator"]


def _retrain(root, env) -> dict:
    proc = subprocess.run([sys.executable, "-m", "flows.retrain"], cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (summary,) = [line for line in proc.stdout.splitlines() if line.startswith('{"trained"')]
    return json.loads(summary)


@pytest.fixture(scope="module")
def pipeline(prefect_server, tmp_path_factory):
    env = dvc_env(prefect_server)
    root = clone(tmp_path_factory.mktemp("e2e") / "project", env)
    run(["dvc", "repro"], root, env)
    return root, env


def test_a_new_generator_is_generated_alone_and_retrained(pipeline):
    root, env = pipeline
    assert _retrain(root, env) == {"trained": False, "new_generators": [], "stages": [], "registry": None}
    before = _counts(root, env)

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generators"].append(NEW)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    summary = _retrain(root, env)
    assert summary["new_generators"] == [NEW["name"]] and summary["trained"]
    assert {"ingest", "bootstrap"}.isdisjoint(summary["stages"]) and "generate" in summary["stages"]
    after = _counts(root, env)
    assert {name: after[name] for name in before} == before, "images of known generators were made again"
    prompts = [line for line in (root / "data" / "prompts.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert after[NEW["name"]] == len(prompts) * params["generation"]["images_per_prompt"]

    registry = summary["registry"]
    assert registry["version"] == "v0.0.2" and registry["baseline_version"] == "v0.0.1"
    assert registry["reason"].startswith("promoted" if registry["promoted"] else "refused")
    lineage = json.loads(run(["aligngemini", "lineage", "model", "v0.0.2", "--json"], root, env))
    assert NEW["name"] in json.dumps(lineage["generators"])
    shown = json.loads(run(["aligngemini", "models", "show", "v0.0.2", "--json"], root, env))
    assert NEW["name"] in shown["generators"] and len(shown["decisions"]) == 1

    assert _retrain(root, env)["trained"] is False
    assert "up to date" in run(["dvc", "status"], root, env)


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_scheduled_retrain_runs_on_a_real_prefect_server(pipeline, tmp_path):
    root, _ = pipeline
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**dvc_env(api), "PREFECT_HOME": str(tmp_path / "prefect-home")}
    logs = (tmp_path / "server.log").open("w"), (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], cwd=root, env=env, stdout=logs[0], stderr=subprocess.STDOUT)
    served = None
    try:
        _wait(lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200, 180, "the Prefect server")
        served = subprocess.Popen([sys.executable, "-m", "flows.serve"], cwd=root, env=env, stdout=logs[1], stderr=subprocess.STDOUT)
        schedule = yaml.safe_load((root / "params.yaml").read_text())["schedule"]
        url = f"{api}/deployments/name/retrain/{schedule['deployment']}"
        deployment = _wait(lambda: (r := httpx.get(url, timeout=5)).status_code == 200 and r.json(), 180, "the deployment")
        (cron,) = [s["schedule"] for s in deployment["schedules"]]
        assert (cron["cron"], cron["timezone"]) == (schedule["cron"], schedule["timezone"])

        # one CI run got an answer without an id right after the deployment appeared: ask again
        # for a while, and show every answer if none creates the run
        answers = []
        for _ in range(30):
            created = httpx.post(f"{api}/deployments/{deployment['id']}/create_flow_run", json={}, timeout=10)
            answers.append(f"{created.status_code}: {created.text[:500]}")
            if created.status_code == 201:
                break
            time.sleep(1)
        assert created.status_code == 201, "create_flow_run never created a run:\n" + "\n".join(answers)
        run_id = created.json()["id"]
        state = _wait(
            lambda: (s := httpx.get(f"{api}/flow_runs/{run_id}", timeout=5).json()["state"])["type"] in ("COMPLETED", "FAILED", "CRASHED") and s,
            600, "the triggered run",
        )
        assert state["type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-4000:]
    finally:
        for proc in (served, server):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
        for log in logs:
            log.close()
