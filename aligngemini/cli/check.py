"""`aligngemini check`: the preflight of a profile (aligngemini/preflight.py), one table, exit 1
when a run of it could not finish on this machine."""

from __future__ import annotations

import dataclasses

import typer

from aligngemini.cli.common import DEFAULT_PARAMS, JsonOption, ParamsOption, fail, load_project_or_fail, print_json
from aligngemini.preflight import PROBLEM, preflight


def check(params: ParamsOption = DEFAULT_PARAMS, as_json: JsonOption = False) -> None:
    """Before any stage: each model and whether it is local or in the Hugging Face cache, disk
    needed vs free, CUDA and its memory, and the device of each model-running stage."""
    project = load_project_or_fail(params)
    checks = preflight(project.params, project.root)
    if as_json:
        print_json([dataclasses.asdict(c) for c in checks])
    else:
        width = max(len(c.item) for c in checks)
        for c in checks:
            typer.echo(f"{c.status:<8} {c.kind:<6} {c.item:<{width}}  {c.detail}")
    problems = [c for c in checks if c.status == PROBLEM]
    if problems:
        fail(f"{params}: {len(problems)} problem(s) before any stage runs; first: {problems[0].item}: {problems[0].detail}")
