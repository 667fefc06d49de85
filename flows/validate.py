"""Validate flow: Great Expectations suites over every dataset manifest. Writes the
results as JSON (`reports/validation.json`, a DVC metric, and one full report per
dataset, with the pixel dataset's shortcut table), GX Data Docs HTML under
`reports/validation/`, records each dataset version (its DVC md5) and its members in the
catalog, and fails with a readable report when any expectation fails.

    python -m flows.validate [--params params.yaml]
"""

from __future__ import annotations

import json

from prefect import flow

from aligngemini.atomic import write_atomic
from aligngemini.datasets.build import DATASET_BUILDERS
from aligngemini.datasets.schema import SPLITS
from aligngemini.datasets.shortcuts import ShortcutPolicy
from aligngemini.datasets.validation import ValidationPolicy, build_data_docs
from aligngemini.errors import AlignGeminiError
from aligngemini.project import Project
from tasks.catalog import merge_catalog
from tasks.datasets import validate_dataset_task
from flows.cli_args import run_with_params


class DatasetValidationError(AlignGeminiError):
    pass


def _policy(project: Project, name: str) -> ValidationPolicy:
    """The pixel dataset's fakes come from the training reconstructors (a held-out one's
    would leak the leave-one-family-out test), the semantic one's from the generator
    registry. The held-out split holds fakes only by design (the leave-one-generator-out
    test pairs it with the test split's reals). Only the pixel pairs
    share their content, so only they get the shortcut check."""
    params = project.params
    allowed = set(params.training_reconstructors()) if name == "pixel" else {g.name for g in params.generators}
    v = params.validation
    shortcuts = ShortcutPolicy(
        load=project.load_image, margin=v.shortcut_margin, max_pairs=v.shortcut_max_pairs,
        splits=frozenset(v.shortcut_splits), seed=v.shortcut_seed, blocking=v.shortcut_blocking,
    ) if name == "pixel" else None
    return ValidationPolicy(
        allowed_generators=frozenset(allowed), balance_tolerance=params.validation.balance_tolerance,
        min_side=params.validation.min_side, max_side=params.validation.max_side,
        project_root=project.root, data_root=project.data_root,
        balance_splits=frozenset(s for s in SPLITS if s != "heldout"), shortcuts=shortcuts,
    )


@flow(name="validate")
def validate(params_path: str = "params.yaml") -> dict[str, bool]:
    project = Project.load(params_path)
    out = project.reports / "validation"
    out.mkdir(parents=True, exist_ok=True)
    reports = {name: validate_dataset_task(project, name, _policy(project, name)) for name in DATASET_BUILDERS.names()}
    merge_catalog(project.catalog, project.staging)
    for name, report in reports.items():
        write_atomic(out / f"{name}.json", json.dumps(report.to_json_dict(), indent=1, default=str))
    build_data_docs(out / "docs")
    metrics = {
        name: {"success": r.success, "failed_expectations": len(r.failures), **r.statistics,
               **({"shortcuts": r.shortcuts} if r.shortcuts is not None else {})}
        for name, r in reports.items()
    }
    write_atomic(project.reports / "validation.json", json.dumps(metrics, indent=2, sort_keys=True, default=str))
    failed = [report.render() for report in reports.values() if not report.success]
    if failed:
        raise DatasetValidationError("dataset validation failed:\n" + "\n".join(failed))
    return {name: report.success for name, report in reports.items()}


if __name__ == "__main__":
    run_with_params(validate, __doc__)
