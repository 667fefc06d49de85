"""Versions and stages of the fused model, kept as GTO git tags.

A version is an annotated tag `name@vX.Y.Z` on a *version commit*: HEAD's tree plus the
pipeline files as they are when the model is registered (dvc.yaml, dvc.lock, profile.yaml
and the params files).
Its dvc.lock pins the fused model folder's md5, so `dvc artifacts get . NAME --stage prod`
finds the bytes in the DVC cache or remote. The commit is not put on any branch: registering
never moves the user's branch or touches their index; the tag keeps it alive."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from gto import api as gto
from gto.exceptions import ArtifactNotFound

from aligngemini.errors import AlignGeminiError

PIPELINE_FILES = ("dvc.yaml", "dvc.lock", "profile.yaml")
PARAMS_FILES = "params*.yaml"  # every profile: profile.yaml names the one that ran


class RegistryError(AlignGeminiError):
    """The registry cannot do what was asked (no git repository, unknown version, ...)."""


def _git(root: Path, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RegistryError(f"git {' '.join(args)} failed in {root}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def require_git(root: Path) -> None:
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True).returncode != 0:
        raise RegistryError(f"{root} is not a git repository: model versions are git tags (GTO); run `git init` and commit first")


def version_commit(root: Path, author: str, email: str, message: str) -> str:
    """A commit of HEAD's tree with the current pipeline files, parented on HEAD (if any)."""
    require_git(root)
    identity = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email}
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, **identity, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        if head:
            _git(root, "read-tree", head, env=env)
        present = [name for name in PIPELINE_FILES if (root / name).is_file()] + sorted(p.name for p in root.glob(PARAMS_FILES))
        _git(root, "add", "-f", "--", *present, env=env)
        tree = _git(root, "write-tree", env=env)
        return _git(root, "commit-tree", tree, *(["-p", head] if head else []), "-m", message, env=env)


def register(root: Path, name: str, commit: str, author: str, email: str) -> str:
    """Tag `commit` as the next patch version of `name`; returns the version ("v0.0.1" first)."""
    first = not versions(root, name)  # GTO refuses a bump flag for the first version
    gto.register(str(root), name, commit, bump_patch=not first, author=author, author_email=email)
    found = [v for v in versions(root, name) if v["commit"] == commit]
    if not found:
        raise RegistryError(f"GTO registered nothing for {name} at {commit}")
    return found[0]["version"]


def assign(root: Path, name: str, version: str, stage: str, author: str, email: str) -> None:
    gto.assign(str(root), name, stage, version=version, author=author, author_email=email)


def versions(root: Path, name: str) -> list[dict]:
    """Registered versions of `name`, newest first: version, commit, created_at, and the
    stages it holds now (a stage belongs to the version assigned to it last)."""
    require_git(root)
    try:
        shown = gto.show(str(root), name, registered_only=True, assignments_per_version=-1, versions_per_stage=-1)
    except ArtifactNotFound:  # no tag of it yet
        return []
    stages = {s["stage"] for v in shown for s in v["stages"]}
    holders = {stage: stage_version(root, name, stage) for stage in sorted(stages)}
    return [
        {
            "version": v["version"],
            "commit": v["commit_hexsha"],
            "created_at": v["created_at"],
            "stages": [stage for stage, holder in holders.items() if holder == v["version"]],
        }
        for v in shown
    ]


def stage_version(root: Path, name: str, stage: str) -> str | None:
    """The version currently in `stage` (the latest assignment wins), or None."""
    require_git(root)
    try:
        found = gto.find_versions_in_stage(str(root), name, stage)
    except ArtifactNotFound:
        return None
    if not found:
        return None
    return found[0].version if isinstance(found, list) else found.version
