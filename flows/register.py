"""Register flow: the fused model the evaluate stage wrote becomes a new version of the
`registry.artifact` (a GTO tag on a commit whose dvc.lock pins it), with a catalog row tying
it to its dataset versions, branch checkpoints, params, git rev and metrics. It then faces
the promotion gate: production (if any) is scored on the same clean images, and the
candidate takes the `registry.gate.stage` only if it is at least as good (see
`aligngemini.model_registry.gate`). Promotions and refusals are both recorded with their
reason. The same fused bytes are registered once: a second run reports the version, and a
run after one that was killed finishes what it left undone (tag, catalog row, stage, copy,
decision) under the same version.

Writes `reports/registry.json`: the version, whether it was promoted, and why.

    python -m flows.register [--params params.yaml]
"""

from __future__ import annotations

import json

import torch
from prefect import flow, get_run_logger

from aligngemini.catalog.models import decisions
from aligngemini.datasets.version import dvc_md5
from aligngemini.model_registry.gate import CLEAN
from aligngemini.model_registry.resolve import resolve_model
from aligngemini.model_registry.tags import require_git, stage_version
from aligngemini.project import Project
from aligngemini.training_outputs import write_metrics
from flows.cli_args import run_with_params
from tasks.catalog import merge_catalog
from tasks.evaluate import load_detector, score_images, select_images
from tasks.registry import baseline_metrics, gate, register_candidate


def _production_metrics(project: Project, version: str) -> dict:
    """`version` scored again, with the evaluation's own tasks, on the clean images the
    candidate was evaluated on."""
    detector = load_detector(project, resolve_model(project, version).path)
    images = [image for image in select_images(project).images if image.split != "val"]
    scores, _ = score_images(project, detector, images, [(CLEAN, None)])
    return baseline_metrics(project, detector, scores)


@flow(name="register")
def register(params_path: str = "params.yaml") -> dict:
    project = Project.load(params_path)
    config = project.params.registry
    torch.set_num_threads(project.params.evaluation.threads)
    require_git(project.root)
    merge_catalog(project.catalog, project.staging)
    fused = project.path(config.path)
    metrics = json.loads((project.reports / "evaluation" / "metrics.json").read_text())
    artifact_md5 = dvc_md5(fused)
    done = register_candidate(project, fused, artifact_md5, metrics)
    merge_catalog(project.catalog, project.staging)
    decided = decisions(project.catalog, config.artifact, done.version)
    again = bool(decided) and not (done.registered or done.repaired)
    if again:
        get_run_logger().info("this fused model is already registered as %s@%s: nothing to do", config.artifact, done.version)
    elif not decided:
        baseline_version = stage_version(project.root, config.artifact, config.gate.stage)
        compared = baseline_version not in (None, done.version)
        baseline = _production_metrics(project, baseline_version) if compared else None
        gate(project, done.version, metrics, baseline, baseline_version)
        merge_catalog(project.catalog, project.staging)
    (latest, *_) = decisions(project.catalog, config.artifact, done.version)
    summary = {
        "version": done.version, "registered": done.registered, "repaired": list(done.repaired), "promoted": latest["promoted"],
        "reason": "already registered" if again else latest["reason"], "baseline_version": latest["baseline_version"],
    }  # fmt: skip
    write_metrics(project.reports / "registry.json", summary)
    return summary


if __name__ == "__main__":
    run_with_params(register, __doc__)
