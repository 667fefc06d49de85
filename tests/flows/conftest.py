"""Fixtures of the branch-training flow tests: which images a training opened, and which
images a dataset version holds according to the catalog's dataset_members (both as
sha256 of the file's bytes, the catalog's content address)."""

import hashlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

import aligngemini.images.loader
from aligngemini.catalog.db import open_read_only
from aligngemini.project import Project


@contextmanager
def _opened_images(project: Project) -> Iterator[set[str]]:
    """Every image file decoded while the block runs, whichever module decodes it: all of
    them go through the defensive loader."""
    opened: set[str] = set()
    real_load = aligngemini.images.loader.load_image

    def spy(path, limits, *args, **kwargs):
        path = Path(path) if Path(path).is_absolute() else project.root / path
        opened.add(hashlib.sha256(path.read_bytes()).hexdigest())
        return real_load(path, limits, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module in ("aligngemini.project", "aligngemini.semantic.data"):
            patch.setattr(f"{module}.load_image", spy)
        yield opened


def _dataset_members(project: Project, *, dataset: str | None = None, md5: str | None = None) -> set[str]:
    """Members of one dataset version (md5) or of every version of a dataset."""
    where, args = ("dataset_md5 = ?", [md5]) if md5 else ("dataset = ?", [dataset])
    with closing(open_read_only(project.catalog)) as con:
        rows = con.execute(f"SELECT DISTINCT sha256 FROM dataset_members WHERE {where}", args).fetchall()
    return {sha for (sha,) in rows}


@pytest.fixture(scope="session")
def opened_images():
    """`with opened_images(project) as opened:` collects the images decoded in the block."""
    return _opened_images


@pytest.fixture(scope="session")
def dataset_members():
    """`dataset_members(project, md5=...)` or `(project, dataset=...)`: member sha256s."""
    return _dataset_members
