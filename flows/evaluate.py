"""Evaluate flow: fits every fusion rule on the validation images, scores each branch alone
and every fusion of the two on the held-out families (reconstructors and generators no
branch trained on), the in-distribution test images and the robustness grid of
`evaluation.perturbations`, then writes the fused model of the chosen rule (`fusion.rule`)
for the register stage. It trains nothing.

Images are the raw real tiles, generated images and held-out reconstructions of the
datasets' own split plan, matched in size and JPEG history (`aligngemini.evaluation.images`).
Writes:
- `models/fused/`: both branch checkpoints and the fitted fusion (`registry.path`);
- `reports/evaluation/metrics.json` (DVC metrics), generalisation first: held-out family ->
  condition -> detector -> metrics; then set -> condition -> detector -> metrics, per
  generator, how images were matched, the fitted fusion models;
- `reports/evaluation/roc.csv` and `generators.csv` (DVC plots);
- `reports/evaluation/html/report.html` with its PNG figures;
- a Prefect table artifact `evaluation-ablation` (each detector on test and held-out).

    python -m flows.evaluate [--params params.yaml]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from prefect import flow
from prefect.artifacts import create_table_artifact

from aligngemini.evaluation.perturb import conditions
from aligngemini.evaluation.report import write_report
from aligngemini.evaluation.scoring import BRANCHES
from aligngemini.evaluation.summary import summarise
from aligngemini.fusion.model_dir import write_fused_model
from aligngemini.fusion.rules import FUSION_RULES, fit_fusion
from aligngemini.project import Project
from aligngemini.training_outputs import write_metrics, write_plot_rows
from flows.cli_args import run_with_params
from tasks.evaluate import load_detector, score_images, select_images

FUSED = "fused"  # the column of the chosen rule, the model that gets registered
CLEAN = [("clean", None)]


def _write_model(project: Project, out_dir: Path, fusion) -> Path:
    params = project.params
    return write_fused_model(
        out_dir, pixel_checkpoint=project.checkpoint("pixel"), semantic_adapter=project.checkpoint("semantic"),
        semantic_base_model=params.semantic.model, semantic=params.semantic, pixel=params.pixel, fusion=fusion,
    )  # fmt: skip


@flow(name="evaluate")
def evaluate(params_path: str = "params.yaml") -> dict:
    project = Project.load(params_path)
    params = project.params
    torch.set_num_threads(params.evaluation.threads)
    selection = select_images(project)
    val = [image for image in selection.images if image.split == "val"]
    evaluated = [image for image in selection.images if image.split != "val"]
    grid = conditions(params.evaluation.perturbations)
    with tempfile.TemporaryDirectory(prefix=".evaluate-", dir=project.root) as scratch:
        # branch scores do not depend on the fusion: any rule lets the detector load
        detector = load_detector(project, _write_model(project, Path(scratch) / "branches", fit_fusion(params.fusion, [], [], [], rule="or_fixed")))
        val_scores, _ = score_images(project, detector, val, CLEAN)
        scores, too_small = score_images(project, detector, evaluated, grid)
    fusions = {
        rule: fit_fusion(params.fusion, val_scores["pixel"], val_scores["semantic"], val_scores["label"], rule=rule)
        for rule in FUSION_RULES.names()
    }
    for rule, fusion in fusions.items():
        scores[rule] = fusion.p_fake(scores["pixel"], scores["semantic"])
    scores[FUSED] = scores[params.fusion.rule]
    detectors = [*BRANCHES, *fusions, FUSED]
    # a perturbation that leaves every image below the pixel expert's smallest side has no rows
    # (counted in images.left_out_too_small), e.g. resize_x0.5 of the 64 px matched images
    scored = set(scores["condition"])
    evaluation = summarise(scores, detectors, params.evaluation.threshold, [name for name, _ in grid if name in scored])

    model_dir = _write_model(project, project.path(params.registry.path), fusions[params.fusion.rule])
    reports = project.reports / "evaluation"
    metrics = {
        "generalisation": evaluation.generalisation(params.evaluation.generalisation_conditions),
        "sets": evaluation.metrics,
        "per_generator": evaluation.per_generator,
        "fusion": {"chosen": params.fusion.rule, "fitted": {rule: fusion.to_dict() for rule, fusion in fusions.items()}},
        "images": {"val": len(val), "evaluated": len(evaluated), "left_out_too_small": too_small, "left_out_below_matching_size": selection.too_small},
        "matching": selection.matching_text(),
    }
    write_metrics(reports / "metrics.json", metrics)
    write_plot_rows(reports / "roc.csv", evaluation.roc_rows())
    write_plot_rows(reports / "generators.csv", evaluation.generator_rows())
    details = {
        "fusion rule": params.fusion.rule, "fused model": str(model_dir.relative_to(project.root)),
        "validation images": str(len(val)), "how real and fake were matched": selection.matching_text(),
    }  # fmt: skip
    write_report(reports / "html", evaluation, "AlignGemini evaluation", details, params.evaluation.generalisation_conditions)
    create_table_artifact(
        key="evaluation-ablation", table=evaluation.ablation_rows(),
        description=f"Each branch alone and every fusion rule on the clean held-out-family and test sets; '{FUSED}' is {params.fusion.rule}.",
    )  # fmt: skip
    return metrics


if __name__ == "__main__":
    run_with_params(evaluate, __doc__)
