"""Validation of a dataset manifest with Great Expectations 1.x, and its Data Docs.

One ephemeral GX context per process holds a pandas data source with one asset per frame
(the manifest and the frames derived from it, see `expectations`), one suite and validation
definition per dataset and frame, and the results of every validation run in this process,
from which `build_data_docs` renders HTML.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# The pipeline runs offline: GX's usage statistics must not try the network.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult  # noqa: E402
from great_expectations.data_context import AbstractDataContext  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from aligngemini.datasets.expectations import (  # noqa: E402
    DATASETS,
    DERIVED,
    FRAMES,
    Check,
    ValidationPolicy,
    checks_for,
)

__all__ = ["ValidationPolicy", "ValidationReport", "validate_manifest", "build_data_docs"]

MAX_EXAMPLES = 5
DOCS_SITE = "aligngemini"
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
# A GX context is not safe to use from two threads at once (a flow may validate both
# datasets in parallel tasks).
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one manifest.

    `failures` holds one dict per failed expectation: `check` (our rule name), `expectation`
    (the GX expectation type), `frame` (the manifest or the derived frame it ran on),
    `column`, `unexpected_count` and up to five `examples` (rows of that frame, or values).
    `skipped` names the checks that could not run because a column they read is missing.
    `shortcuts` (pixel dataset, when its shortcut check ran) maps each image statistic to its
    `auroc`, `separability`, `real_mean`, `fake_mean` and the number of `pairs` measured.
    """

    dataset: str
    success: bool
    failures: list[dict]
    statistics: dict
    skipped: list[str] = field(default_factory=list)
    shortcuts: dict[str, dict] | None = None
    results: dict[str, ExpectationSuiteValidationResult] = field(default_factory=dict, repr=False)

    def to_json_dict(self) -> dict:
        """The report as plain JSON types, with GX's own result of each frame's suite."""
        return {
            "dataset": self.dataset,
            "success": self.success,
            "failures": self.failures,
            "statistics": self.statistics,
            "skipped": self.skipped,
            "shortcuts": self.shortcuts,
            "gx_results": {frame: result.to_json_dict() for frame, result in self.results.items()},
        }

    def render(self) -> str:
        """A readable summary: the verdict, then each failed expectation with example rows."""
        stats = self.statistics
        lines = [
            f"{self.dataset} manifest: {'PASSED' if self.success else 'FAILED'} "
            f"({stats['successful_expectations']} of {stats['evaluated_expectations']} expectations met)"
        ]
        for failure in self.failures:
            column = f", column {failure['column']}" if failure["column"] else ""
            count = failure["unexpected_count"]
            lines.append(
                f"- {failure['check']}: {failure['expectation']} on {failure['frame']}{column}"
                + (f": {count} unexpected" if count is not None else "")
            )
            lines += [f"    {json.dumps(example)}" for example in failure["examples"]]
        if self.skipped:
            lines.append(f"not evaluated (a column they read is missing): {', '.join(self.skipped)}")
        return "\n".join(lines)


def validate_manifest(df: pd.DataFrame, policy: ValidationPolicy, dataset: str | None = None) -> ValidationReport:
    """Validate the manifest `df` of `dataset` ("pixel" or "semantic"; by default the most
    common value of its `dataset` column) against the rules of `expectations.checks_for`."""
    dataset = dataset or _dataset_of(df)
    checks = checks_for(dataset, policy)
    columns = set(df.columns)
    runnable = [check for check in checks if columns.issuperset(check.needs)]
    skipped = sorted({check.name for check in checks if not columns.issuperset(check.needs)})
    # Positions, not labels: example rows are looked up by the index GX reports.
    manifest = df.reset_index(drop=True)
    results: dict[str, ExpectationSuiteValidationResult] = {}
    frames: dict[str, pd.DataFrame] = {}
    with _LOCK:
        for name in FRAMES:
            frame_checks = [check for check in runnable if check.frame == name]
            if not frame_checks:
                continue
            frames[name] = manifest if name == "manifest" else DERIVED[name].build(manifest, policy)
            results[name] = _run_suite(f"{dataset}.{name}", name, frames[name], frame_checks)
    failures = [
        _failure(name, frames[name], outcome)
        for name, result in results.items()
        for outcome in result.results
        if not outcome.success
    ]
    # a non-blocking shortcut check is reported (failures, table, Data Docs) but passes the dataset
    blocking = policy.shortcuts is None or policy.shortcuts.blocking
    success = not [f for f in failures if blocking or f["check"] != "no_shortcut"] and not skipped
    shortcuts = frames["shortcuts"].set_index("statistic").to_dict("index") if "shortcuts" in frames else None
    return ValidationReport(dataset, success, failures, _statistics(results.values()), skipped, shortcuts, results)


def build_data_docs(reports_dir: Path) -> Path:
    """Render GX Data Docs of every validation run in this process under `reports_dir`
    (e.g. reports/validation/) and return the path of its index.html."""
    reports_dir = Path(reports_dir).resolve()
    context = _context()
    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(reports_dir)},
    }
    with _LOCK:
        if DOCS_SITE in (context.config.data_docs_sites or {}):
            context.update_data_docs_site(DOCS_SITE, site)
        else:
            context.add_data_docs_site(DOCS_SITE, site)
        context.build_data_docs(site_names=[DOCS_SITE])
    return reports_dir / "index.html"


@functools.cache
def _context() -> AbstractDataContext:
    """The process's GX context, with a pandas data source and no progress bars."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("manifests")
    return context


def _run_suite(
    suite_name: str, frame_name: str, frame: pd.DataFrame, checks: list[Check]
) -> ExpectationSuiteValidationResult:
    """Validate `frame` against the checks' expectations as the suite `suite_name`."""
    context = _context()
    source = context.data_sources.get("manifests")
    try:
        batch = source.get_asset(frame_name).get_batch_definition("whole")
    except LookupError:
        batch = source.add_dataframe_asset(frame_name).add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=suite_name, expectations=[check.expectation for check in checks])
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
    )
    return definition.run(batch_parameters={"dataframe": frame}, result_format=_RESULT_FORMAT)


def _dataset_of(df: pd.DataFrame) -> str:
    """The most common value of the `dataset` column, if it names a dataset."""
    values = df["dataset"].mode() if "dataset" in df.columns else pd.Series()
    if values.empty or values.iloc[0] not in DATASETS:
        raise ValueError(f"cannot tell which dataset this manifest is: pass dataset= one of {DATASETS}")
    return values.iloc[0]


def _failure(frame_name: str, frame: pd.DataFrame, outcome: ExpectationValidationResult) -> dict:
    """One entry of `ValidationReport.failures`."""
    config = outcome.expectation_config
    return {
        "check": config.meta["check"],
        "expectation": config.type,
        "frame": frame_name,
        "column": config.kwargs.get("column"),
        "unexpected_count": outcome.result.get("unexpected_count"),
        "examples": _examples(frame, outcome),
    }


def _examples(frame: pd.DataFrame, outcome: ExpectationValidationResult) -> list:
    """Up to five example rows of `frame` that broke the expectation, else what GX observed."""
    errors = _exception_messages(outcome.exception_info)
    if errors:
        return errors[:MAX_EXAMPLES]
    result = outcome.result
    indices = result.get("partial_unexpected_index_list")
    if indices:
        return json.loads(frame.iloc[indices[:MAX_EXAMPLES]].to_json(orient="records"))
    mismatched = result.get("details", {}).get("mismatched")
    if mismatched:
        problems = [{"column": column, "problem": kind} for kind, columns in mismatched.items() for column in columns]
        return problems[:MAX_EXAMPLES]
    return [{"observed_value": result.get("observed_value")}]


def _exception_messages(info: dict) -> list[str]:
    """The messages of the errors GX caught while evaluating an expectation: `info` is one
    error record, or (when a metric failed) a dict of them keyed by metric."""
    records = [info] if "raised_exception" in info else list(info.values())
    return [record["exception_message"] for record in records if record.get("raised_exception")]


def _statistics(results: Iterable[ExpectationSuiteValidationResult]) -> dict:
    """GX's statistics summed over the frames' suites."""
    evaluated = sum(result.statistics["evaluated_expectations"] for result in results)
    successful = sum(result.statistics["successful_expectations"] for result in results)
    return {
        "evaluated_expectations": evaluated,
        "successful_expectations": successful,
        "unsuccessful_expectations": evaluated - successful,
        "success_percent": 100.0 * successful / evaluated if evaluated else None,
    }
