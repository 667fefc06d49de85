"""Fixtures of the flow tests: which images a dataset version holds according to the
catalog's dataset_members (sha256 of the file's bytes, the catalog's content address)."""

from contextlib import closing

import pytest

from aligngemini.catalog.db import open_read_only
from aligngemini.project import Project


def _dataset_members(project: Project, *, dataset: str | None = None, md5: str | None = None) -> set[str]:
    """Members of one dataset version (md5) or of every version of a dataset."""
    where, args = ("dataset_md5 = ?", [md5]) if md5 else ("dataset = ?", [dataset])
    with closing(open_read_only(project.catalog)) as con:
        rows = con.execute(f"SELECT DISTINCT sha256 FROM dataset_members WHERE {where}", args).fetchall()
    return {sha for (sha,) in rows}


@pytest.fixture(scope="session")
def dataset_members():
    """`dataset_members(project, md5=...)` or `(project, dataset=...)`: member sha256s."""
    return _dataset_members
