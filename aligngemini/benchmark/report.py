"""What a benchmark run leaves in its folder: metrics.json, per-image scores.parquet, the ROC
and precision-recall curves as DVC-plots CSV (plots/roc.csv, plots/pr.csv) and an HTML
report drawn with the evaluation report's building blocks (aligngemini.evaluation.page)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from aligngemini.atomic import write_atomic, write_with
from aligngemini.benchmark.metrics import BRANCHES, OVERALL, SCORE_COLUMNS
from aligngemini.evaluation.page import PR_AXES, ROC_AXES, curve_figure, document, figure_html, table, write_figures

TABLE_METRICS = ("real_accuracy", "fake_accuracy", "balanced_accuracy", "roc_auc", "ap", "fake_accuracy_at_fpr")
HEADER = ("real acc", "fake acc", "bal acc", "AUROC", "AP", "TPR@5%FPR")


def _curves(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ROC (fpr, tpr) and PR (recall, precision) points per model, condition and branch,
    over every scored image; none for a set lacking a class."""
    roc, pr = [], []
    for (model, condition), rows in scores[scores["error"].isna()].groupby(["model", "condition"], sort=False):
        is_fake = (rows["label"] == "fake").to_numpy()
        if is_fake.all() or not is_fake.any():
            continue
        for branch in BRANCHES:
            values = rows[SCORE_COLUMNS[branch]].to_numpy(dtype=np.float64)
            fpr, tpr, _ = roc_curve(is_fake, values)
            precision, recall, _ = precision_recall_curve(is_fake, values)
            keys = {"model": model, "condition": condition, "branch": branch}
            roc.append(pd.DataFrame({**keys, "fpr": fpr, "tpr": tpr}))
            pr.append(pd.DataFrame({**keys, "recall": recall, "precision": precision}))
    empty = lambda *columns: pd.DataFrame(columns=["model", "condition", "branch", *columns])  # noqa: E731
    return (pd.concat(roc, ignore_index=True) if roc else empty("fpr", "tpr")), (pd.concat(pr, ignore_index=True) if pr else empty("recall", "precision"))


def _with_ci(metrics: Mapping, key: str) -> str | float | None:
    value, interval = metrics[key], (metrics.get("ci") or {}).get(key)
    if value is None or interval is None:
        return value
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def result_rows(results: Mapping) -> list[list]:
    """[model, condition, subset, branch, *TABLE_METRICS (CI where bootstrapped), n] rows."""
    return [
        [model, condition, subset, branch, *(_with_ci(metrics, key) for key in TABLE_METRICS), metrics["n_real"] + metrics["n_fake"]]
        for model, by_condition in results.items()
        for condition, by_subset in by_condition.items()
        for subset, by_branch in by_subset.items()
        for branch, metrics in by_branch.items()
    ]


def difference_rows(differences: Mapping) -> list[list]:
    rows = []
    for pair, by_condition in differences.items():
        for condition, by_subset in by_condition.items():
            for subset, by_branch in by_subset.items():
                for branch, by_metric in by_branch.items():
                    cells = []
                    for entry in by_metric.values():
                        delta, interval = entry["delta"], entry["ci"]
                        cells.append(None if delta is None else f"{delta:+.3f}" + (f" [{interval[0]:+.3f}, {interval[1]:+.3f}]" if interval else ""))
                    rows.append([pair, condition, subset, branch, *cells])
    return rows


def _figures(roc: pd.DataFrame, pr: pd.DataFrame, conditions: Sequence[str]) -> dict:
    figures = {}
    for condition in conditions:
        for stem, points, axes, x, y in (("roc", roc, ROC_AXES, "fpr", "tpr"), ("pr", pr, PR_AXES, "recall", "precision")):
            rows = points[points["condition"] == condition]
            if len(rows):
                curves = {f"{m} {b}": (g[x].to_numpy(), g[y].to_numpy()) for (m, b), g in rows.groupby(["model", "branch"], sort=False)}
                title = f"{'ROC' if stem == 'roc' else 'Precision-recall'}, {condition}, every scored image"
                figures[f"{stem}_{condition}"] = curve_figure(curves, axes, title, diagonal=stem == "roc")
    return figures


def write_outputs(out_dir: Path, summary: Mapping, scores: pd.DataFrame) -> Path:
    """Writes the run's folder (module docstring); returns the HTML report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "plots").mkdir(exist_ok=True)
    write_atomic(out_dir / "metrics.json", (json.dumps(summary, indent=2) + "\n").encode())
    write_with(out_dir / "scores.parquet", lambda temp: scores.to_parquet(temp, index=False))
    roc, pr = _curves(scores)
    write_atomic(out_dir / "plots" / "roc.csv", roc.to_csv(index=False).encode())
    write_atomic(out_dir / "plots" / "pr.csv", pr.to_csv(index=False).encode())
    pngs = write_figures(out_dir / "figures", _figures(roc, pr, summary["conditions"]))
    failed = scores[scores["error"].notna()]
    details = {
        "run": summary["run_id"], "created": summary["created_at"], "models": ", ".join(summary["models"]),
        "conditions": ", ".join(summary["conditions"]), "collection fingerprint": summary["fingerprint"],
        **{f"collection {c['root']}": f"layout {c['layout']}, {c['real']} real, {c['fake']} fake, {c['errors']} not scorable" for c in summary["collections"]},
    }  # fmt: skip
    parts = [
        f"<h1>Benchmark {summary['name']}</h1>",
        table([], details.items()),
        "<h2>Results</h2>",
        f"<p>Accuracies at each branch's own threshold; 95 % stratified bootstrap intervals ({summary['bootstrap']} resamples) "
        f"in brackets; TPR@5%FPR: the fakes caught at the threshold that calls at most 5 % of reals fake. "
        f"'{OVERALL}' pools every subset.</p>",
        table(["model", "condition", "subset", "branch", *HEADER, "images"], result_rows(summary["results"])),
    ]
    if summary["differences"]:
        parts += [
            "<h2>Differences (same images, paired bootstrap)</h2>",
            table(["models", "condition", "subset", "branch", "bal acc", "AUROC", "AP"], difference_rows(summary["differences"])),
        ]
    parts += ["<h2>Curves</h2>", *(figure_html(stem, pngs, stem) for stem in pngs)]
    parts += [f"<h2>Files not scored ({len(failed)})</h2>", table(["model", "condition", "subset", "error"], failed[["model", "condition", "subset", "error"]].itertuples(index=False))]
    report = out_dir / "report.html"
    write_atomic(report, document(f"Benchmark {summary['name']}", parts).encode())
    return report
