"""The command line every flow module shares: `python -m flows.<name> [--params FILE]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def params_parser(doc: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file; paths in it are relative to its folder")
    return parser


def run_with_params(flow_fn: Callable[..., object], doc: str | None) -> None:
    """Run a flow whose only argument is `params_path`, taken from `--params`."""
    flow_fn(params_path=params_parser(doc).parse_args().params)
