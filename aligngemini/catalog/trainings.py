"""The branches' side of the catalog: which dataset versions may be trained on, and the
recorded trainings."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from aligngemini.catalog.db import open_read_only
from aligngemini.errors import AlignGeminiError

_TRAINING_COLUMNS = [
    "branch", "checkpoint_sha256", "checkpoint_path", "dataset", "dataset_md5", "params_hash", "git_rev",
    "metrics", "train_seconds", "created_at", "flow_run_id",
]


class DatasetNotValidated(AlignGeminiError):
    """A branch was asked to train on a dataset version the validate stage has not passed."""


def require_validated(db: Path, name: str, md5: str) -> None:
    """Training reads only dataset versions that Great Expectations passed: the catalog must
    hold (name, md5) with a successful validation."""
    with closing(open_read_only(db)) as con:
        found = con.execute("SELECT validation_success FROM datasets WHERE name = ? AND md5 = ?", [name, md5]).fetchone()
    if found is None:
        raise DatasetNotValidated(f"dataset '{name}' version {md5} was never validated: run `dvc repro validate` first")
    if not found[0]:
        raise DatasetNotValidated(f"dataset '{name}' version {md5} failed validation: see `aligngemini datasets show {name}`")


def trainings(db: Path, branch: str | None = None) -> list[dict]:
    """Recorded trainings (newest first), of one branch or of both."""
    if not Path(db).exists():
        return []
    where, params = ("WHERE branch = ?", [branch]) if branch else ("", [])
    with closing(open_read_only(db)) as con:
        rows = con.execute(f"SELECT {', '.join(_TRAINING_COLUMNS)} FROM trainings {where} ORDER BY created_at DESC", params).fetchall()
    return [dict(zip(_TRAINING_COLUMNS, row)) for row in rows]
