"""The command line every flow module shares: `python -m flows.<name> [--params FILE]`.

Parsing it starts the stage, as every `python -m flows.<name>` (a `dvc repro` stage or a
direct run) parses it before its flow runs: the process takes the run lock of the params'
data root for the rest of its life (`aligngemini.run_lock`; `runs.on_busy` says whether a
second run waits or stops), and its catalog merges wait for readers as
`catalog.lock_timeout_s` says.
"""

from __future__ import annotations

import argparse
import atexit
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from aligngemini.catalog.db import set_writer_lock_timeout
from aligngemini.project import Project
from aligngemini.run_lock import RunBusy, run_lock

_held = ExitStack()
atexit.register(_held.close)


class _StageParser(argparse.ArgumentParser):
    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None) -> argparse.Namespace:  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        start_stage(parsed.params)
        return parsed


def start_stage(params_path: str) -> None:
    """Hold the run lock of the params' data root until this process exits (exit 1 with the
    holder named when another run has it and `runs.on_busy` gives up), and set this
    process's catalog lock timeout."""
    project = Project.load(params_path)
    set_writer_lock_timeout(project.params.catalog.lock_timeout_s)
    try:
        _held.enter_context(run_lock(project.data_root, project.params.runs))
    except RunBusy as exc:
        sys.exit(f"error: {exc}")


def params_parser(doc: str | None, stage: bool = True) -> argparse.ArgumentParser:
    """The parser of `--params`; with `stage` false (a process that only serves flows, not
    one run), parsing starts nothing."""
    parser_class = _StageParser if stage else argparse.ArgumentParser
    parser = parser_class(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file; paths in it are relative to its folder")
    return parser


def run_with_params(flow_fn: Callable[..., object], doc: str | None) -> None:
    """Run a flow whose only argument is `params_path`, taken from `--params`."""
    flow_fn(params_path=params_parser(doc).parse_args().params)
