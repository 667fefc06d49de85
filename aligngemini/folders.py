"""Replacing a whole output folder so that readers never see half of one."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def swap_in(staging: Path, out_dir: Path) -> None:
    """Put the complete folder `staging` in place of `out_dir`. The old folder is first
    renamed aside (a rename is atomic, a delete is not), then removed."""
    retired = out_dir.parent / f".{out_dir.name}.retired-{uuid.uuid4().hex}"
    if out_dir.exists():
        os.replace(out_dir, retired)
    os.replace(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)
