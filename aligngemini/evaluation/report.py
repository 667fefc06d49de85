"""A self-contained HTML report of an `Evaluation`: ROC curves, per-generator and
robustness charts, and tables. Every figure is a PNG under `figures/`, embedded in the
page as a base64 data URI (aligngemini.evaluation.page), so the page can be mailed or
archived on its own."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aligngemini.atomic import write_atomic
from aligngemini.evaluation.page import ROC_AXES, curve_figure, document, figure_html, plain_legend, plot_value, table, write_figures
from aligngemini.evaluation.perturb import CLEAN
from aligngemini.evaluation.summary import ABLATION_SETS, METRIC_NAMES, SETS, Evaluation

SET_TEXT = {
    "heldout": "every fake of a held-out family: decoders and generators no branch trained on",
    "heldout_reconstructors": "the held-out reconstructors' reconstructions of the test tiles",
    "heldout_generators": "images of the held-out generators",
    "test": "in-distribution: the training generators' images of the test split",
    "all": "every fake",
}
KIND_TEXT = {"heldout_reconstructors": "reconstructor", "heldout_generators": "generator"}
GENERALISATION_METRICS = ("balanced_accuracy", "roc_auc", "ap")
METRIC_TEXT = {
    "balanced_accuracy": "bal. acc.",
    "real_accuracy": "real acc.",
    "fake_accuracy": "fake acc.",
    "ap": "AP",
    "roc_auc": "ROC AUC",
}



def _roc_figure(evaluation: Evaluation, name: str) -> Figure:
    curves = {
        f"{detector} (AUC {evaluation.metrics[name][CLEAN][detector]['roc_auc']:.3f})": tuple(zip(*points))
        for detector, points in evaluation.roc[name].items()
    }
    return curve_figure(curves, ROC_AXES, f"ROC, {name} set ({SET_TEXT[name]} + all reals)", diagonal=True)


def _bars(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], ylabel: str, title: str) -> Figure:
    """Grouped bars: one group per label, one bar per series."""
    figure = Figure(figsize=(max(5, 0.25 * len(labels) * len(series) + 2), 4), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series.items()):
        axes.bar(positions + (index - (len(series) - 1) / 2) * width, [plot_value(v) for v in values], width, label=name)
    axes.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axes.set_xticks(positions, labels, rotation=30, ha="right", parse_math=False)
    axes.set(ylim=(0, 1.05), ylabel=ylabel)
    axes.set_title(title, fontsize="medium", parse_math=False)
    plain_legend(axes)
    return figure


def _lines(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], ylabel: str, title: str) -> Figure:
    figure = Figure(figsize=(max(5, 0.7 * len(labels) + 2), 4), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    for name, values in series.items():
        axes.plot(positions, [plot_value(v) for v in values], marker="o", label=name)
    axes.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axes.set_xticks(positions, labels, rotation=30, ha="right", parse_math=False)
    axes.set(ylim=(0, 1.05), ylabel=ylabel)
    axes.set_title(title, fontsize="medium", parse_math=False)
    plain_legend(axes)
    return figure


def _figures(evaluation: Evaluation) -> dict[str, Figure]:
    """File stem -> figure; a set that lacks a class gets no ROC or robustness figure."""
    figures = {f"roc_{name}": _roc_figure(evaluation, name) for name in SETS if all(evaluation.roc[name].values())}
    if evaluation.generators:
        by_generator = evaluation.per_generator[CLEAN]
        figures["generators"] = _bars(
            evaluation.generators,
            {d: [by_generator[g][d]["balanced_accuracy"] for g in evaluation.generators] for d in evaluation.detectors},
            "balanced accuracy",
            "Balanced accuracy per generator (clean; its fakes + all reals)",
        )
    for name in (name for name in SETS if evaluation.roc[name][evaluation.detectors[0]]):
        figures[f"robustness_{name}"] = _lines(
            evaluation.conditions,
            {d: [evaluation.metrics[name][c][d]["balanced_accuracy"] for c in evaluation.conditions] for d in evaluation.detectors},
            "balanced accuracy",
            f"Robustness, {name} set ({SET_TEXT[name]} + all reals)",
        )
    return figures


def _generalisation(evaluation: Evaluation, conditions: Sequence[str]) -> str:
    """One row per held-out family and detector: its fakes against the test reals, under
    each of `conditions`."""
    families = evaluation.generalisation(conditions)
    if not families:
        return "<p>No family is held out: nothing here measures generalisation.</p>"
    rows = (
        [family, KIND_TEXT.get(entry["kind"], entry["kind"]), detector]
        + [entry[condition][detector][key] for condition in conditions for key in GENERALISATION_METRICS]
        for family, entry in families.items()
        for detector in evaluation.detectors
    )
    return table(
        ["family", "kind", "detector"] + [METRIC_TEXT[key] for _ in conditions for key in GENERALISATION_METRICS],
        rows,
        [[("", 3)] + [(condition, len(GENERALISATION_METRICS)) for condition in conditions]],
    )


def _page(evaluation: Evaluation, title: str, details: Mapping[str, str], pngs: Mapping[str, bytes], conditions: Sequence[str]) -> str:
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        table([], ((key, str(value)) for key, value in details.items())) if details else "",
        "<h2>Generalisation: held-out families (each family's fakes + the test reals)</h2>",
        _generalisation(evaluation, conditions),
        f"<p>Decision threshold {evaluation.threshold:g} (fake when the score is above it). Balanced accuracy = "
        "(real accuracy + fake accuracy) / 2; AP and ROC AUC take fake as the positive class. Every set pairs its "
        "fakes with all reals: "
        + "; ".join(f"<b>{html.escape(name)}</b>: {html.escape(text)}" for name, text in SET_TEXT.items())
        + ". &ndash; marks a metric the set cannot define (a class is absent).</p>",
        "<h2>Ablation (clean images)</h2>",
        table(
            ["detector"] + [METRIC_TEXT[key] for _ in ABLATION_SETS for key in METRIC_NAMES],
            ([row["detector"]] + [row[f"{name}_{key}"] for name in ABLATION_SETS for key in METRIC_NAMES] for row in evaluation.ablation_rows()),
            [[("", 1)] + [(f"{name} set", len(METRIC_NAMES)) for name in ABLATION_SETS]],
        ),
        "<h2>ROC curves (clean images)</h2>",
        "".join(figure_html(f"roc_{name}", pngs, f"ROC curves, {name} set") for name in SETS)
        + "".join(f"<p>No ROC curve for the {html.escape(name)} set: it lacks reals or fakes.</p>" for name in SETS if f"roc_{name}" not in pngs),
        "<h2>Per generator (clean images, all set, balanced accuracy)</h2>",
        figure_html("generators", pngs, "balanced accuracy per generator"),
        table(
            ["generator"] + evaluation.detectors,
            ([g] + [evaluation.per_generator[CLEAN][g][d]["balanced_accuracy"] for d in evaluation.detectors] for g in evaluation.generators),
        ),
        "<h2>Robustness (balanced accuracy per condition)</h2>",
    ]
    for name in SETS:
        parts += [
            f"<h3>{html.escape(name)} set</h3>",
            figure_html(f"robustness_{name}", pngs, f"robustness, {name} set"),
            table(
                ["condition"] + evaluation.detectors,
                ([c] + [evaluation.metrics[name][c][d]["balanced_accuracy"] for d in evaluation.detectors] for c in evaluation.conditions),
            ),
        ]
    return document(title, parts)


def write_report(
    out_dir: Path, evaluation: Evaluation, title: str, details: Mapping[str, str], generalisation_conditions: Sequence[str] = (CLEAN,)
) -> Path:
    """Writes `out_dir/figures/*.png` and `out_dir/report.html` (figures embedded);
    returns the HTML's path. `details` is a key -> value table shown first (model version,
    dataset md5s, how images were matched, ...); the held-out families' table follows,
    under `generalisation_conditions`."""
    out_dir = Path(out_dir)
    pngs = write_figures(out_dir / "figures", _figures(evaluation))
    report = out_dir / "report.html"
    write_atomic(report, _page(evaluation, title, details, pngs, generalisation_conditions).encode("utf-8"))
    return report
