"""`aligngemini benchmark PATH...`: score registered models on labelled image collections,
the table every detector paper reports; `aligngemini benchmark list`: the runs recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from aligngemini.benchmark.collection import LAYOUTS, MANIFEST, find_collections
from aligngemini.catalog.benchmarks import benchmark_runs
from aligngemini.cli.common import DEFAULT_PARAMS, DeviceOption, DTypeOption, JsonOption, ParamsOption, check_placement, fail, load_project_or_fail, printable
from aligngemini.errors import AlignGeminiError
from aligngemini.evaluation.perturb import parse_perturbation
from aligngemini.model_registry import resolve_model
from aligngemini.project import Project

LIST = "list"
LAYOUT_HELP = f"Collection layout instead of detecting it: {', '.join([*LAYOUTS.names(), MANIFEST])}."


def benchmark(
    paths: Annotated[list[str], typer.Argument(metavar="PATH", help="Collection folders (label folders inside) or CSV/Parquet manifests; the single word 'list' lists the recorded runs.", show_default=False)],
    models: Annotated[list[str] | None, typer.Option("--model", help="Registered version (vX.Y.Z) or stage (prod); repeat to compare models on the same images.", show_default="prod")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The run's name: its folder under reports/benchmarks. Default: the first path's name.", show_default=False)] = None,
    perturb: Annotated[list[str] | None, typer.Option("--perturb", help="Also score under a perturbation KIND:VALUE (jpeg:75, resize:0.5, blur:1); repeatable.", show_default=False)] = None,
    layout: Annotated[str | None, typer.Option("--layout", help=LAYOUT_HELP, show_default=False)] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples of the 95 % confidence intervals (0: none).")] = 200,
    device: DeviceOption = None,
    dtype: DTypeOption = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar with images/s on stderr.")] = True,
    as_json: JsonOption = False,
    params: ParamsOption = DEFAULT_PARAMS,
) -> None:
    """Score each model on every image of the collections, per subset and overall, for each
    branch and the fused decision. Exit code 1 when any file could not be scored."""
    project = load_project_or_fail(params)
    if paths == [LIST] and not os.path.lexists(LIST):
        _list(project, as_json)
        return
    check_placement(device, dtype)
    try:
        specs = [parse_perturbation(text) for text in perturb or []]
        collections = find_collections(paths, layout)
    except AlignGeminiError as exc:
        fail(str(exc))
    from aligngemini.benchmark.run import run_benchmark  # torch, transformers: only once the input is known good
    from aligngemini.benchmark.score import BenchmarkModel
    from aligngemini.fusion.detector import FusedDetector

    chosen = _models(project, models or ["prod"])

    def load(model: BenchmarkModel) -> FusedDetector:
        try:
            return FusedDetector.load(model.path, project.root, device=device, dtype=dtype)
        except AlignGeminiError as exc:
            fail(f"cannot load model {model.tag} from {model.path}: {exc}")

    try:
        run = run_benchmark(
            name or Path(paths[0]).resolve().name.removesuffix(".csv").removesuffix(".parquet"), collections,
            [BenchmarkModel(m.name, m.version, Path(m.path)) for m in chosen], specs,
            out_root=project.reports / "benchmarks", catalog=project.catalog, limits=project.params.images,
            load=load, n_bootstrap=bootstrap, progress=progress,
        )  # fmt: skip
    except AlignGeminiError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(run.summary, indent=2))
    else:
        _print_table(run.summary)
    counts = run.counts
    typer.echo(
        f"{run.summary['images']} images: {counts.scored} scored, {counts.cached} from the cache, {counts.failed} failed "
        f"(over {len(run.summary['models'])} model(s) x {len(run.summary['conditions'])} condition(s)); report {run.report}",
        err=True,
    )
    if counts.failed:
        raise typer.Exit(1)


def _models(project: Project, specs: list[str]) -> list:
    resolved = []
    for spec in specs:
        try:
            model = resolve_model(project, spec)
        except AlignGeminiError as exc:
            fail(str(exc))
        if all((model.name, model.version) != (m.name, m.version) for m in resolved):
            resolved.append(model)
    return resolved


def _print_table(summary: dict) -> None:
    from aligngemini.benchmark.report import HEADER, difference_rows, result_rows

    header = ["model", "condition", "subset", "branch", *HEADER, "images"]
    _columns(header, result_rows(summary["results"]))
    if summary["differences"]:
        typer.echo("")
        _columns(["models", "condition", "subset", "branch", "d bal acc", "d AUROC", "d AP"], difference_rows(summary["differences"]))


def _columns(header: list[str], rows: list[list]) -> None:
    text = lambda value: "-" if value is None else f"{value:.3f}" if isinstance(value, float) else printable(str(value))  # noqa: E731
    cells = [header, *([text(value) for value in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _list(project: Project, as_json: bool) -> None:
    runs = benchmark_runs(project.catalog)
    if as_json:
        typer.echo(json.dumps(runs, indent=2, default=str))
        return
    if not runs:
        typer.echo("no benchmark recorded yet: run `aligngemini benchmark PATH...`")
        return
    for run in runs:
        roots = ", ".join(c["root"] for c in run["collections"])
        typer.echo(
            f"{run['created_at']}  {run['name']:<20} {run['model_name']}@{run['model_version']}  {run['images']} images, "
            f"{run['errors']} failed  {', '.join(run['conditions'])}  [{roots}]  fingerprint {run['collection_fingerprint'][:12]}"
        )
