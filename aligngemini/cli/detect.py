"""`aligngemini detect PATH...`: is each image real or AI-generated, by a registered fused model."""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from tqdm import tqdm

from aligngemini.cli.common import DEFAULT_PARAMS, DeviceOption, DTypeOption, JsonOption, ParamsOption, check_placement, fail, load_project_or_fail, printable
from aligngemini.errors import AlignGeminiError
from aligngemini.model_registry import resolve_model

JSON_KEYS = ("path", "label", "p_fake", "p_semantic", "p_pixel", "model_version", "error")


def expand_paths(arguments: list[str]) -> list[tuple[str, str | None]]:
    """(path, error) per file to score, in argument order, each file once: a folder gives
    every regular file below it (sorted), a glob its matches (recursive `**`); an argument
    matching nothing gives its own entry with an error."""
    found: dict[str, str | None] = {}
    for argument in arguments:
        matches = [argument] if os.path.lexists(argument) else sorted(glob.glob(argument, recursive=True))
        if not matches:
            found.setdefault(argument, f"{argument}: no such file or folder, and no file matches it as a pattern")
        for match in matches:
            for path in _walk(match) if os.path.isdir(match) else [match]:
                found.setdefault(path, None)
    return list(found.items())


def _walk(folder: str) -> list[str]:
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths += [path for name in sorted(files) if os.path.isfile(path := os.path.join(root, name))]
    return paths


def detect(
    paths: Annotated[list[str], typer.Argument(metavar="PATH", help="Image files, folders (searched recursively) or glob patterns.", show_default=False)],
    model: Annotated[str, typer.Option("--model", help="Registered version (vX.Y.Z) or stage (prod).")] = "prod",
    device: DeviceOption = None,
    dtype: DTypeOption = None,
    as_json: JsonOption = False,
    params: ParamsOption = DEFAULT_PARAMS,
) -> None:
    """Score each image with the fused detector; each file's line is printed as soon as it is
    scored, in argument order. Exit code 1 when any file could not be scored."""
    project = load_project_or_fail(params)
    check_placement(device, dtype)
    try:
        resolved = resolve_model(project, model)
    except AlignGeminiError as exc:  # NoRegisteredModel's message already says how to train and register one
        fail(str(exc))
    from aligngemini.fusion.detector import Detection, FusedDetector  # torch and transformers: only once a model is found

    try:
        detector = FusedDetector.load(resolved.path, project.root, device=device, dtype=dtype)
    except AlignGeminiError as exc:
        fail(f"cannot load model {resolved.name}@{resolved.version} from {resolved.path}: {exc}")
    entries = expand_paths(paths)
    scored = detector.iter_detect_paths((path for path, error in entries if error is None), project.params.images)
    if not as_json:
        typer.echo(f"{'label':<5} {'p_fake':>6} {'p_sem':>6} {'p_pix':>6}  path")
    failed = fakes = 0
    with tqdm(total=len(entries), unit="file", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False) as progress:
        for path, error in entries:
            detection = next(scored) if error is None else Detection(path, None, None, None, None, error)
            row = dict(asdict(detection), model_version=resolved.version)
            progress.clear()  # the bar never lands inside a result line
            typer.echo(json.dumps({key: row[key] for key in JSON_KEYS}) if as_json else _table_line(row))
            progress.update()
            failed += row["error"] is not None
            fakes += row["label"] == "fake"
    typer.echo(
        f"{resolved.name}@{resolved.version}: {len(entries) - failed} of {len(entries)} files scored, {fakes} called fake, {failed} failed",
        err=True,
    )
    if failed:
        raise typer.Exit(1)


def _table_line(row: dict) -> str:
    number = lambda value: "-" if value is None else f"{value:.3f}"  # noqa: E731
    scores = f"{number(row['p_fake']):>6} {number(row['p_semantic']):>6} {number(row['p_pixel']):>6}"
    return f"{row['label'] or 'error':<5} {scores}  {printable(row['error'] or row['path'])}"
