from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aligngemini.errors import UnsafePathError
from aligngemini.images.store import ImageStore, encode_png


def _image(seed: int = 0, size: tuple[int, int] = (48, 32)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "data" / "real", project_root=tmp_path)


def test_same_pixels_same_address_and_bytes(store, tmp_path):
    image = _image()
    decorated = image.copy()
    decorated.info.update({"icc_profile": b"fake profile", "dpi": (300, 300), "comment": "x"})
    first, second = store.put(image), store.put(decorated)
    assert first == second
    assert first.path == f"data/real/{first.sha256[:2]}/{first.sha256}.png"
    assert (first.width, first.height) == (48, 32)
    data = (tmp_path / first.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == first.sha256 == hashlib.sha256(encode_png(image)).hexdigest()
    assert store.path_for(first.sha256) == tmp_path / first.path
    assert store.contains(first.sha256) and not store.contains("0" * 64)
    with Image.open(tmp_path / first.path) as reread:
        np.testing.assert_array_equal(np.asarray(reread), np.asarray(image))


def test_different_pixels_different_address(store):
    assert store.put(_image(0)).sha256 != store.put(_image(1)).sha256
    assert len(store.files()) == 2


def test_existing_image_is_not_rewritten(store, monkeypatch):
    stored = store.put(_image())

    def no_write(*args):
        raise AssertionError("rewrote an existing image")

    monkeypatch.setattr(os, "replace", no_write)
    assert store.put(_image()) == stored


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_nothing(store, monkeypatch, failing):
    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put(_image())
    monkeypatch.undo()
    assert store.files() == []
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_files_and_temp_cleanup_after_a_killed_run(store):
    stored = store.put(_image())
    folder = store.path_for(stored.sha256).parent
    leftover = folder / f".{'a' * 64}.k3j2.tmp"
    leftover.write_bytes(b"half an image")
    (folder / "notes.png").write_bytes(b"not ours")
    assert store.files() == [store.path_for(stored.sha256)]
    assert store.remove_temp_files() == 1
    assert not leftover.exists() and store.remove_temp_files() == 0
    assert store.contains(stored.sha256)


def test_temp_cleanup_keeps_the_writes_of_a_live_run_and_deletes_a_dead_ones(store, monkeypatch):
    temps = []
    replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (temps.append(Path(src).name), replace(src, dst)))
    stored = store.put(_image())
    monkeypatch.undo()
    (ours,) = temps
    assert f".pid{os.getpid()}@{socket.gethostname()}." in ours, "a temp file names its writer"
    folder = store.path_for(stored.sha256).parent
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {
            "live": ours.replace(f"pid{os.getpid()}@", f"pid{live.pid}@"),
            "dead": ours.replace(f"pid{os.getpid()}@", f"pid{dead.pid}@"),
            "other host": ours.replace(f"@{socket.gethostname()}.", "@elsewhere.example."),
        }
        for name in names.values():
            (folder / name).write_bytes(b"half an image")
        assert store.remove_temp_files() == 1
        assert sorted(p.name for p in folder.glob(".*.tmp")) == sorted([names["live"], names["other host"]])
    finally:
        live.communicate(b"", timeout=30)
    assert store.remove_temp_files() == 1 and [p.name for p in folder.glob(".*.tmp")] == [names["other host"]]


def test_store_files_are_readable_by_others(store):
    stored = store.put(_image())
    assert store.path_for(stored.sha256).stat().st_mode & 0o777 == 0o644


def test_bad_sha_and_root_outside_the_project(store, tmp_path):
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
    with pytest.raises(UnsafePathError):
        ImageStore(tmp_path.parent / "elsewhere", project_root=tmp_path)
