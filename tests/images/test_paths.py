from __future__ import annotations

import pytest

from aligngemini.errors import UnsafePathError
from aligngemini.paths import resolve_inside


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data" / "real").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return tmp_path


def test_relative_paths_are_taken_from_the_project_root(project):
    resolved = resolve_inside(project / "data", "data/real/ab/abcd.png", base=project)
    assert resolved == project / "data" / "real" / "ab" / "abcd.png"
    assert resolve_inside("data", "data", base=project) == project / "data"


def test_default_base_is_the_working_directory(project, monkeypatch):
    monkeypatch.chdir(project)
    assert resolve_inside("data", "data/real/x.png") == project / "data" / "real" / "x.png"


@pytest.mark.parametrize(
    "candidate",
    ["data/../outside/x.png", "../x.png", "data/real/../../params.yaml", "/etc/passwd", "outside", "data2/x.png", "data\0/x"],
)
def test_escapes_are_refused(project, candidate):
    with pytest.raises(UnsafePathError) as caught:
        resolve_inside(project / "data", candidate, base=project)
    assert caught.value.reason == "path_outside_root"


def test_symlink_escaping_the_root_is_refused(project):
    (project / "data" / "link").symlink_to(project / "outside")
    (project / "data" / "inner").symlink_to(project / "data" / "real")
    with pytest.raises(UnsafePathError):
        resolve_inside(project / "data", "data/link/secret.txt", base=project)
    assert resolve_inside(project / "data", "data/inner/a.png", base=project) == project / "data" / "real" / "a.png"
