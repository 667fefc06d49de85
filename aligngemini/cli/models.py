"""`aligngemini models ...`: registered fused model versions, their stages and the gate."""

from __future__ import annotations

import typer

from aligngemini.catalog.models import decisions, model_version, model_versions
from aligngemini.cli.common import DEFAULT_PARAMS, JsonOption, ParamsOption, code_state, fail, load_project_or_fail, print_json
from aligngemini.errors import AlignGeminiError
from aligngemini.model_registry.gate import fused_figures
from aligngemini.model_registry.promote import promote
from aligngemini.model_registry.resolve import version_of
from aligngemini.model_registry.tags import versions

app = typer.Typer(no_args_is_help=True, help="Registered fused models (GTO versions and stages) and the promotion gate.")


def _figures(row: dict | None, metric_set: str) -> tuple[float | None, float | None]:
    if row is None:
        return None, None
    try:
        return fused_figures(row["metrics"], metric_set)
    except KeyError:
        return None, None


@app.command("list")
def list_models(params: ParamsOption = DEFAULT_PARAMS, as_json: JsonOption = False) -> None:
    """Every registered version, newest first, with its stages and gate figures."""
    project = load_project_or_fail(params)
    config = project.params.registry
    try:
        tagged = versions(project.root, config.artifact)
    except AlignGeminiError as exc:
        fail(str(exc))
    rows = {row["version"]: row for row in model_versions(project.catalog, config.artifact)}
    listed = []
    for tag in tagged:
        bacc, real = _figures(rows.get(tag["version"]), config.gate.metric_set)
        row = rows.get(tag["version"], {})
        listed.append({
            **tag, "fusion_rule": row.get("fusion_rule"), "generators": row.get("generators"),
            "balanced_accuracy": bacc, "real_accuracy": real, "metric_set": config.gate.metric_set,
        })  # fmt: skip
    if as_json:
        print_json(listed)
        return
    if not listed:
        typer.echo(f"no version of {config.artifact} is registered yet: `make run` trains and registers one")
        return
    typer.echo(f"{'version':<10} {'stages':<10} {'rule':<14} {'bal.acc':>7} {'real':>6}  created")
    for row in listed:
        figures = [f"{v:.3f}" if v is not None else "-" for v in (row["balanced_accuracy"], row["real_accuracy"])]
        typer.echo(f"{row['version']:<10} {','.join(row['stages']) or '-':<10} {row['fusion_rule'] or '-':<14} {figures[0]:>7} {figures[1]:>6}  {row['created_at']:%Y-%m-%d %H:%M:%S}")


@app.command("show")
def show_model(
    version: str = typer.Argument(help="vX.Y.Z, NAME@vX.Y.Z or a stage such as prod"),
    params: ParamsOption = DEFAULT_PARAMS,
    as_json: JsonOption = False,
) -> None:
    """One version: its lineage (datasets, checkpoints, params, git), figures and gate decisions."""
    project = load_project_or_fail(params)
    config = project.params.registry
    try:
        found = version_of(project, version)
        stages = next(t["stages"] for t in versions(project.root, config.artifact) if t["version"] == found)
    except AlignGeminiError as exc:
        fail(str(exc))
    row = model_version(project.catalog, config.artifact, found)
    if row is None:
        fail(f"{config.artifact}@{found} is tagged in git but has no catalog row in {project.catalog}")
    row["stages"] = stages
    row["decisions"] = decisions(project.catalog, config.artifact, found)
    if as_json:
        print_json(row)
        return
    for key in ("name", "version", "stages", "commit", "artifact_md5", "fusion_rule", "generators", "pixel_dataset_md5",
                "semantic_dataset_md5", "pixel_checkpoint_sha256", "semantic_checkpoint_sha256", "params_hash", "created_at"):  # fmt: skip
        typer.echo(f"{key + ':':<28} {row[key]}")
    typer.echo(f"{'code:':<28} {code_state(row)}")
    for name, by_condition in row["metrics"]["sets"].items():
        fused = by_condition["clean"]["fused"]
        typer.echo(f"{name + ' (fused, clean):':<28} balanced accuracy {fused['balanced_accuracy']}, real {fused['real_accuracy']}, fake {fused['fake_accuracy']}")
    for decision in row["decisions"]:
        typer.echo(f"{'decision ' + decision['stage'] + ':':<28} {'promoted' if decision['promoted'] else 'refused'} at {decision['decided_at']}: {decision['reason']}")


@app.command("promote")
def promote_model(
    version: str = typer.Argument(help="vX.Y.Z or NAME@vX.Y.Z"),
    force: bool = typer.Option(False, "--force", help="promote even if the gate refuses (e.g. a rollback); recorded as forced"),
    params: ParamsOption = DEFAULT_PARAMS,
) -> None:
    """Move the gated stage (registry.gate.stage) to VERSION if the gate allows it; exit 1 when refused."""
    project = load_project_or_fail(params)
    try:
        found, decision = promote(project, version, force)
    except AlignGeminiError as exc:
        fail(str(exc))
    typer.echo(f"{project.params.registry.artifact}@{found}: {decision.reason}")
    if not decision.promoted:
        raise typer.Exit(1)
