"""Fixtures of the branch-training flow tests: which image files a training opened, and
which files a dataset version holds according to the catalog."""

from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

import aligngemini.images.loader
from aligngemini.catalog.db import open_read_only
from aligngemini.project import Project


@contextmanager
def _opened_images(project: Project) -> Iterator[set[str]]:
    """Every image file decoded while the block runs (paths relative to the project root),
    whichever module decodes it: all of them go through the defensive loader."""
    opened: set[str] = set()
    real_load = aligngemini.images.loader.load_image

    def spy(path, limits, *args, **kwargs):
        path = Path(path)
        opened.add((path.relative_to(project.root) if path.is_absolute() else path).as_posix())
        return real_load(path, limits, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module in ("aligngemini.project", "aligngemini.semantic.data"):
            patch.setattr(f"{module}.load_image", spy)
        yield opened


def _dataset_member_paths(project: Project, *, dataset: str | None = None, md5: str | None = None) -> set[str]:
    """Paths of the members of one dataset version (md5) or of every version of a dataset."""
    where, args = ("m.dataset_md5 = ?", [md5]) if md5 else ("m.dataset = ?", [dataset])
    with closing(open_read_only(project.catalog)) as con:
        rows = con.execute(f"SELECT DISTINCT i.path FROM dataset_members AS m JOIN images AS i USING (sha256) WHERE {where}", args).fetchall()
    return {path for (path,) in rows}


@pytest.fixture(scope="session")
def opened_images():
    """`with opened_images(project) as opened:` collects the image files decoded in the block."""
    return _opened_images


@pytest.fixture(scope="session")
def dataset_member_paths():
    """`dataset_member_paths(project, md5=...)` or `(project, dataset=...)`: member file paths."""
    return _dataset_member_paths
