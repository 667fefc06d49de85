"""Options and helpers shared by the CLI sub-apps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, NoReturn, get_args

import typer

from aligngemini.config_base import DEVICE_PATTERN, DType
from aligngemini.errors import ConfigError
from aligngemini.project import Project

DEFAULT_PARAMS = Path("params.yaml")

ParamsOption = Annotated[
    Path,
    typer.Option("--params", help="Parameter file; relative paths in it are taken from its folder."),
]
CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="Catalog file to use instead of paths.catalog from --params."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DeviceOption = Annotated[
    str | None,
    typer.Option("--device", help="Run both branches here ('cpu', 'cuda', 'cuda:N', 'auto') instead of where each was trained.", show_default=False),
]
DTypeOption = Annotated[
    str | None,
    typer.Option("--dtype", help="Score in this precision (float32, bfloat16, float16) instead of each branch's training dtype.", show_default=False),
]


def printable(text: str) -> str:
    """`text` with every character a terminal would act on (newlines, escape sequences,
    other control and format characters) written as a Python escape, and file-name bytes
    that are not UTF-8 as `\\xNN`: a file name can then neither forge table rows nor drive
    the terminal. Printable non-ASCII letters stay as they are."""
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return repr(char)[1:-1] if code < 0x80 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` on stderr as one line (DuckDB errors span several) and exit with `code`."""
    typer.echo(f"error: {printable(' '.join(message.split()))}", err=True)
    raise typer.Exit(code)


def load_project_or_fail(params_file: Path) -> Project:
    """`Project.load`, turning a missing or malformed params file into a one-line error and exit code 1."""
    try:
        return Project.load(params_file)
    except ConfigError as exc:
        fail(str(exc))


def catalog_path(params_file: Path, override: Path | None) -> Path:
    """The catalog file: `override` if given (params are then not read), else the project's paths.catalog."""
    if override is not None:
        return override
    return load_project_or_fail(params_file).catalog


def existing_catalog(params_file: Path, override: Path | None) -> Path:
    """`catalog_path`, failing with exit code 1 when no catalog has been created there yet."""
    path = catalog_path(params_file, override)
    if not path.is_file():
        fail(f"no catalog at {path} yet: it is created when a flow first merges records into it")
    return path


def print_json(value: Any) -> None:
    """Print `value` as indented JSON; dates, decimals and other scalars become strings."""
    typer.echo(json.dumps(value, indent=2, default=str))


def check_placement(device: str | None, dtype: str | None) -> None:
    """Fail with a one-line error on a --device or --dtype no model could be placed with."""
    if device is not None and not re.fullmatch(DEVICE_PATTERN, device):
        fail(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")
    if dtype is not None and dtype not in get_args(DType):
        fail(f"--dtype {dtype!r}: expected one of {', '.join(get_args(DType))}")


def code_state(model: dict) -> str:
    """Which code made a registered model: HEAD then, whether the work tree differed from it,
    and the version commit that holds the files as they were."""
    dirty = {True: "with uncommitted changes", False: "clean", None: "dirty state not recorded"}[model.get("git_dirty")]
    return f"HEAD {(model['git_rev'] or '-')[:12]} ({dirty}), registered commit {model['commit'][:12]}"
