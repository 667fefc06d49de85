"""`aligngemini datasets ...`: dataset versions recorded in the catalog by the validate stage."""

from __future__ import annotations

import json

import typer

from aligngemini.catalog.datasets import dataset_composition, dataset_versions
from aligngemini.cli.common import DEFAULT_PARAMS, CatalogOption, JsonOption, ParamsOption, existing_catalog, fail, print_json

app = typer.Typer(no_args_is_help=True, help="Dataset versions (DVC md5) and their composition.")


@app.command("list")
def list_datasets(params: ParamsOption = DEFAULT_PARAMS, catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """Every dataset version, newest first."""
    versions = dataset_versions(existing_catalog(params, catalog))
    for version in versions:
        version.pop("validation")
    if as_json:
        print_json(versions)
        return
    typer.echo(f"{'name':<10} {'md5':<38} {'rows':>6}  {'valid':<5}  created")
    for v in versions:
        typer.echo(f"{v['name']:<10} {v['md5']:<38} {v['rows']:>6}  {'yes' if v['validation_success'] else 'NO':<5}  {v['created_at']:%Y-%m-%d %H:%M:%S}")


@app.command("show")
def show_dataset(
    name: str = typer.Argument(help="dataset name, e.g. pixel or semantic"),
    md5: str | None = typer.Option(None, "--md5", help="a specific version (default: the newest)"),
    params: ParamsOption = DEFAULT_PARAMS,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """One version: where it came from, its validation, and samples per split/label/generator."""
    db = existing_catalog(params, catalog)
    versions = [v for v in dataset_versions(db, name) if md5 is None or v["md5"] == md5]
    if not versions:
        fail(f"no recorded version of dataset '{name}'" + (f" with md5 {md5}" if md5 else "") + ": run `dvc repro validate`")
    version = versions[0]
    version["validation"] = json.loads(version["validation"])
    version["composition"] = dataset_composition(db, version["md5"])
    if as_json:
        print_json(version)
        return
    for key in ("name", "md5", "rows", "git_rev", "params_hash", "created_at", "flow_run_id"):
        typer.echo(f"{key + ':':<13} {version[key]}")
    checks = version["validation"]
    typer.echo(f"{'validation:':<13} {'passed' if checks['success'] else 'FAILED'} ({checks['statistics']})")
    for failure in checks["failures"]:
        typer.echo(f"  failed {failure['check']} ({failure['expectation']}): e.g. {failure['examples'][:2]}")
    typer.echo(f"{'split':<8} {'label':<5} {'generator':<20} {'samples':>7}")
    for row in version["composition"]:
        typer.echo(f"{row['split']:<8} {row['label']:<5} {str(row['generator'] or '-'):<20} {row['samples']:>7}")
