"""What a branch training leaves behind besides its checkpoint: the reports DVC reads as
metrics and plots, and the checkpoint's identity."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from aligngemini.atomic import write_atomic


def folder_sha256(folder: Path) -> str:
    """sha256 over a folder's files (relative names and contents, in name order)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def write_metrics(path: Path, metrics: Mapping) -> None:
    write_atomic(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def write_plot_rows(path: Path, rows: Sequence[Mapping]) -> None:
    """A CSV DVC plot; columns are the union of the rows' keys in first-seen order (a metric
    missing from a row is left empty)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, out.getvalue())
