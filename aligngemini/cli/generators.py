"""`aligngemini generators ...`: the generator registry of params.yaml, with catalog counts."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from aligngemini.catalog.db import image_counts_by_generator
from aligngemini.project import Project

app = typer.Typer(no_args_is_help=True, help="The generator registry (params.yaml `generators:`).")


@app.command("list")
def list_generators(
    params: Path = typer.Option(Path("params.yaml"), "--params", help="params file"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per generator"),
) -> None:
    """Each registered generator with the number of its images in the catalog."""
    project = Project.load(params)
    counts = image_counts_by_generator(project.catalog)
    rows = [
        {"name": g.name, "pipeline": g.pipeline, "model": g.model, "steps": g.steps, "guidance": g.guidance,
         "resolution": g.resolution, "seed": g.seed, "images": counts.get(g.name, 0)}
        for g in project.params.generators
    ]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    header = f"{'name':<20} {'pipeline':<10} {'res':>4} {'steps':>5} {'images':>7}  model"
    typer.echo(header)
    for r in rows:
        typer.echo(f"{r['name']:<20} {r['pipeline']:<10} {r['resolution']:>4} {r['steps']:>5} {r['images']:>7}  {r['model']}")
