"""Retrain flow: the scheduled job that keeps the detector current as generators appear.

Compares the generator registry (`generators` in params.yaml) with the catalog and asks DVC
which stages are out of date. With nothing new it stops and says so: no generation, no
training. Otherwise it runs the pipeline with `dvc repro`, so dvc.lock keeps pinning every
result: generate and reconstruct add only the missing images (their outputs persist), the
datasets are rebuilt and validated, both branches retrain, and the candidate is evaluated,
registered and put through the promotion gate (`flows/register.py`).

It holds the data root's run lock throughout, also when the deployment of `flows/serve.py`
starts it; the stages of its `dvc repro` inherit the holding and do not wait for it.

    python -m flows.retrain [--params params.yaml]     (prints the summary as one JSON line)
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.errors import AlignGeminiError
from aligngemini.profile import write_profile
from aligngemini.project import Project
from aligngemini.retraining import Pending, pending
from aligngemini.run_lock import run_lock
from flows.cli_args import params_parser

_RUNNING = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)


@task(name="find-pending-work", cache_policy=NO_CACHE)
def find_pending(project: Project) -> Pending:
    todo = pending(project.params, project.root, project.catalog)
    logger = get_run_logger()
    logger.info("generators without images: %s", ", ".join(todo.new_generators) or "none")
    logger.info("stages out of date: %s", ", ".join(todo.changed_stages) or "none")
    return todo


@task(name="dvc-repro", cache_policy=NO_CACHE)
def reproduce(project: Project) -> list[str]:
    """`dvc repro` in the project; the stages it ran, in order."""
    proc = subprocess.run(["dvc", "repro"], cwd=project.root, capture_output=True, text=True)
    logger = get_run_logger()
    logger.info("dvc repro:\n%s", proc.stdout[-20000:])
    if proc.returncode != 0:
        raise AlignGeminiError(f"dvc repro failed in {project.root} (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return _RUNNING.findall(proc.stdout)


@flow(name="retrain")
def retrain(params_path: str = "params.yaml") -> dict:
    project = Project.load(params_path)
    with run_lock(project.data_root, project.params.runs):
        write_profile(project.root, project.params, Path(params_path).name)  # dvc repro runs these params
        todo = find_pending(project)
        if todo.nothing:
            get_run_logger().info("nothing new: every generator has images and the pipeline is up to date; no training")
            return {"trained": False, "new_generators": [], "stages": [], "registry": None}
        stages = reproduce(project)
        registry = json.loads((project.reports / "registry.json").read_text()) if "register" in stages else None
    if registry:
        get_run_logger().info("candidate %s: %s", registry["version"], registry["reason"])
    return {
        "trained": bool({"train_pixel", "train_semantic"} & set(stages)),
        "new_generators": todo.new_generators,
        "stages": stages,
        "registry": registry,
    }


def main() -> None:
    print(json.dumps(retrain(params_path=params_parser(__doc__).parse_args().params)))


if __name__ == "__main__":
    main()
