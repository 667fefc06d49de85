"""`aligngemini generators ...`: the generator registry of params.yaml, with catalog counts."""

from __future__ import annotations

import json

import typer

from aligngemini.catalog.db import image_counts_by_generator
from aligngemini.cli.common import DEFAULT_PARAMS, JsonOption, ParamsOption, load_project_or_fail

app = typer.Typer(no_args_is_help=True, help="The generator registry (params.yaml `generators:`).")


@app.command("list")
def list_generators(params: ParamsOption = DEFAULT_PARAMS, as_json: JsonOption = False) -> None:
    """Each registered generator with the number of its images in the catalog."""
    project = load_project_or_fail(params)
    counts = image_counts_by_generator(project.catalog)
    rows = [{**g.model_dump(), "images": counts.get(g.name, 0)} for g in project.params.generators]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    typer.echo(f"{'name':<20} {'pipeline':<10} {'res':>4} {'steps':>5} {'images':>7}  model")
    for r in rows:
        typer.echo(f"{r['name']:<20} {r['pipeline']:<10} {r['resolution']:>4} {r['steps']:>5} {r['images']:>7}  {r['model']}")
