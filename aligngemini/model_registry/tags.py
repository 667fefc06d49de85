"""Versions and stages of the fused model, kept as GTO git tags.

A version is an annotated tag `name@vX.Y.Z` on a *version commit*: every tracked file as the
work tree holds it when the model is registered (uncommitted code and params changes
included, as `dvc exp run` leaves them), plus the pipeline files (dvc.yaml, dvc.lock,
profile.yaml and the params files). Its dvc.lock pins the fused model folder's md5, so
`dvc artifacts get . NAME --stage prod` finds the bytes in the DVC cache or remote. The commit
is not put on any branch: registering never moves the user's branch or touches their index;
the tag keeps it alive. The tag's message names the folder's md5 (`artifact_md5=...`), so the
tags alone tell which bytes a version holds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gto import api as gto
from gto.exceptions import ArtifactNotFound

from aligngemini.errors import AlignGeminiError

PIPELINE_FILES = ("dvc.yaml", "dvc.lock", "profile.yaml")
PARAMS_FILES = "params*.yaml"  # every profile: profile.yaml names the one that ran
# Written by every `dvc repro`: a change to it says nothing about the code that ran.
GENERATED = ("dvc.lock",)
_ARTIFACT_MD5 = re.compile(r"\bartifact_md5=(\S+)")


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


@dataclass(frozen=True)
class VersionCommit:
    commit: str
    head: str | None  # the checked-out commit the pipeline ran on (None before the first commit)
    changed: tuple[str, ...]  # files that differ from HEAD (dvc.lock aside): the tree was dirty


def version_commit(root: Path, author: str, email: str, message: str) -> VersionCommit:
    """A commit of the tracked files as the work tree holds them, with the current pipeline
    files, parented on HEAD (if any). Built in a scratch index: the user's stays untouched."""
    require_git(root)
    identity = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email}
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        env = {**os.environ, **identity, "GIT_INDEX_FILE": str(index)}
        head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        user_index = Path(_git(root, "rev-parse", "--path-format=absolute", "--git-path", "index"))
        if user_index.is_file():  # files the user staged but never committed are tracked too
            shutil.copyfile(user_index, index)
        elif head:
            _git(root, "read-tree", head, env=env)
        _git(root, "add", "-u", env=env)
        present = [name for name in PIPELINE_FILES if (root / name).is_file()] + sorted(p.name for p in root.glob(PARAMS_FILES))
        _git(root, "add", "-f", "--", *present, env=env)
        tree = _git(root, "write-tree", env=env)
        commit = _git(root, "commit-tree", tree, *(["-p", head] if head else []), "-m", message, env=env)
    return describe(root, commit)


def describe(root: Path, commit: str) -> VersionCommit:
    """Where a version commit came from: its parent, and the files it changed there."""
    parents = _git(root, "rev-list", "--parents", "-n", "1", commit).split()[1:]
    head = parents[0] if parents else None
    listed = _git(root, "diff-tree", "-r", "--name-only", "--no-commit-id", *([head] if head else ["--root"]), commit)
    return VersionCommit(commit, head, tuple(path for path in listed.splitlines() if path and Path(path).name not in GENERATED))


def register(root: Path, name: str, commit: str, artifact_md5: str, author: str, email: str, version: str | None = None) -> str:
    """Tag `commit` as `version`, or as the next patch version of `name`, naming the fused
    folder's md5 in the tag; returns the version ("v0.0.1" first)."""
    first = not versions(root, name)  # GTO refuses a bump flag for the first version
    message = f"Register {name} artifact_md5={artifact_md5}"
    gto.register(str(root), name, commit, version=version, message=message, bump_patch=not first and version is None, author=author, author_email=email)
    found = [v for v in versions(root, name) if v["commit"] == commit]
    if not found:
        raise RegistryError(f"GTO registered nothing for {name} at {commit}")
    return found[0]["version"]


def assign(root: Path, name: str, version: str, stage: str, author: str, email: str) -> None:
    gto.assign(str(root), name, stage, version=version, author=author, author_email=email)


def versions(root: Path, name: str) -> list[dict]:
    """Registered versions of `name`, newest first: version, commit, created_at, the stages it
    holds now (a stage belongs to the version assigned to it last), whether any stage was ever
    assigned to it, and the fused folder's md5 its tag names (None for tags without one)."""
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
            "assigned": bool(v["stages"]),
            "artifact_md5": _tagged_md5(v),
        }
        for v in shown
    ]


def _tagged_md5(shown: dict) -> str | None:
    found = [m[1] for r in shown["registrations"] if (m := _ARTIFACT_MD5.search(r.get("message") or ""))]
    return found[0] if found else None


def version_with_artifact(root: Path, name: str, artifact_md5: str) -> dict | None:
    """The registered version (as `versions` lists it) whose tag names these fused bytes."""
    return next((v for v in versions(root, name) if v["artifact_md5"] == artifact_md5), None)


def has_commit(root: Path, commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True).returncode == 0


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
