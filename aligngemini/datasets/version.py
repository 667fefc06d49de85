"""A dataset version is its DVC md5: computed with DVC's own hashing (dvc-data), so it is
the value `dvc.lock` records for the folder, also when a flow runs outside `dvc repro`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from dvc_data.hashfile.build import build
from dvc_data.hashfile.db.local import LocalHashFileDB
from dvc_objects.fs.local import LocalFileSystem

from aligngemini.config import Params


def dvc_md5(path: Path) -> str:
    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as scratch:
        _, _, obj = build(LocalHashFileDB(fs, scratch), str(path), fs, "md5", dry_run=True)
    return obj.hash_info.value


def git_rev(root: Path) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


# Every params section a dataset depends on (its inputs' too).
DATASET_SECTIONS = ("ingest", "images", "bootstrap", "generators", "generation", "reconstruction", "datasets")


def params_hash(params: Params, sections: tuple[str, ...] = DATASET_SECTIONS) -> str:
    dumped = params.model_dump(mode="json", include=set(sections))
    return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()
