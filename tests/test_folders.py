"""Swapping a whole output folder (a trained model, a fused model) never leaves it missing."""

from __future__ import annotations

import os

import pytest

from aligngemini import folders
from aligngemini.folders import swap_in


def _folder(path, content: str):
    path.mkdir()
    (path / "model.json").write_text(content)
    return path


def test_the_destination_exists_at_every_step_and_holds_the_new_folder(tmp_path, monkeypatch):
    out = _folder(tmp_path / "fused", "old")
    present_at_each_rename: list[bool] = []
    real_replace = os.replace

    def replace(source, target):
        present_at_each_rename.append(out.exists())
        real_replace(source, target)

    monkeypatch.setattr(folders.os, "replace", replace)
    swap_in(_folder(tmp_path / ".fused.writing", "new"), out)
    assert (out / "model.json").read_text() == "new"
    assert present_at_each_rename and all(present_at_each_rename)
    assert [p.name for p in tmp_path.iterdir()] == ["fused"]  # the old content is gone


def test_without_an_atomic_exchange_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = _folder(tmp_path / "fused", "old")
    monkeypatch.setattr(folders, "_exchange", lambda first, second: False)
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:  # staging -> out fails (a kill would stop here)
            raise OSError("disk error")
        real_replace(source, target)

    monkeypatch.setattr(folders.os, "replace", replace)
    with pytest.raises(OSError, match="disk error"):
        swap_in(_folder(tmp_path / ".fused.writing", "new"), out)
    assert (out / "model.json").read_text() == "old"


def test_a_folder_set_aside_by_a_killed_run_is_put_back(tmp_path):
    _folder(tmp_path / ".fused.retired-0123", "old")  # killed between the two renames
    folders._restore_retired(tmp_path / "fused")
    assert (tmp_path / "fused" / "model.json").read_text() == "old"
    swap_in(_folder(tmp_path / ".fused.writing", "new"), tmp_path / "fused")
    assert (tmp_path / "fused" / "model.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["fused"]


def test_first_swap_creates_the_destination(tmp_path):
    swap_in(_folder(tmp_path / ".x.writing", "new"), tmp_path / "x")
    assert (tmp_path / "x" / "model.json").read_text() == "new"
