"""Versions and stages as GTO tags in a real git repository, and the version commit."""

import subprocess

import pytest

from aligngemini.model_registry import tags

NAME, WHO, EMAIL = "aligngemini-detector", "registry", "registry@example.invalid"


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "dvc.yaml").write_text(f"artifacts:\n  {NAME}:\n    path: models/fused\n    type: model\n")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return tmp_path


def _git(root, *args) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def test_versions_and_stages_start_empty_then_follow_the_tags(repo):
    assert tags.versions(repo, NAME) == [] and tags.stage_version(repo, NAME, "prod") is None
    head = _git(repo, "rev-parse", "HEAD")
    (repo / "dvc.lock").write_text("schema: '2.0'\n")
    (repo / "params.yaml").write_text("a: 2\n")
    first = tags.version_commit(repo, WHO, EMAIL, "register").commit
    assert _git(repo, "rev-parse", "HEAD") == head and _git(repo, "status", "--porcelain").count("??") == 1, "no branch or index moved"
    assert _git(repo, "show", f"{first}:params.yaml") == "a: 2" and _git(repo, "rev-parse", f"{first}^") == head
    assert tags.register(repo, NAME, first, "md5-a.dir", WHO, EMAIL) == "v0.0.1"
    tags.assign(repo, NAME, "v0.0.1", "prod", WHO, EMAIL)
    second = tags.version_commit(repo, WHO, EMAIL, "register again").commit
    assert tags.register(repo, NAME, second, "md5-b.dir", WHO, EMAIL) == "v0.0.2"
    assert [v["version"] for v in tags.versions(repo, NAME)] == ["v0.0.2", "v0.0.1"]
    assert tags.stage_version(repo, NAME, "prod") == "v0.0.1"
    tags.assign(repo, NAME, "v0.0.2", "prod", WHO, EMAIL)
    assert [(v["version"], v["stages"]) for v in tags.versions(repo, NAME)] == [("v0.0.2", ["prod"]), ("v0.0.1", [])]
    assert f"{NAME}@v0.0.2" in _git(repo, "tag")
    assert tags.version_with_artifact(repo, NAME, "md5-a.dir")["version"] == "v0.0.1" and tags.version_with_artifact(repo, NAME, "md5-c.dir") is None


def test_a_folder_outside_git_is_refused_with_the_reason(tmp_path):
    with pytest.raises(tags.RegistryError, match="not a git repository"):
        tags.version_commit(tmp_path, WHO, EMAIL, "register")
