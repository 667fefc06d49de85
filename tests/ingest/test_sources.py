from __future__ import annotations

import os

import numpy as np
import pytest

from aligngemini.config import RealSource
from aligngemini.errors import ConfigError
from aligngemini.images.loader import load_image
from aligngemini.ingest.sources import SOURCES, list_source_files
from aligngemini.registry import UnknownEntryError


def test_embedded_lists_at_least_ten_photos_that_all_load(image_limits):
    files = list_source_files(RealSource(name="embedded", kind="embedded"))
    assert len(files) >= 10
    assert len({f.name for f in files}) == len(files)
    assert {"skimage/astronaut.png", "sklearn/china.jpg", "matplotlib/grace_hopper.jpg"} <= {f.name for f in files}
    colour = 0
    for file in files:
        pixels = np.asarray(load_image(file.path, image_limits).image)
        assert min(pixels.shape[:2]) >= 128, file.name  # at least one tile
        colour += not np.array_equal(pixels[..., 0], pixels[..., 1])
    assert colour >= 10


def test_folder_lists_every_regular_file_sorted(tmp_path):
    (tmp_path / "photos" / "sub").mkdir(parents=True)
    for name in ("b.jpg", "a.png", "sub/c.txt"):
        (tmp_path / "photos" / name).write_bytes(b"x")
    files = list_source_files(RealSource(name="mine", kind="folder", path=str(tmp_path / "photos")))
    assert [f.name for f in files] == ["a.png", "b.jpg", "sub/c.txt"]
    assert files[2].path == tmp_path / "photos" / "sub" / "c.txt"


def test_folder_does_not_leave_itself(tmp_path):
    photos, outside = tmp_path / "photos", tmp_path / "outside"
    photos.mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    (photos / "ok.png").write_bytes(b"x")
    (photos / "escape.png").symlink_to(outside / "secret.png")
    (photos / "escape_dir").symlink_to(outside)
    (photos / "inside_link.png").symlink_to(photos / "ok.png")
    (photos / "dangling.png").symlink_to(tmp_path / "nothing.png")
    os.mkfifo(photos / "pipe.png")
    files = list_source_files(RealSource(name="mine", kind="folder", path=str(photos)))
    assert [f.name for f in files] == ["inside_link.png", "ok.png"]


def test_folder_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="'path'.*required"):
        list_source_files(RealSource(name="mine", kind="folder"))
    with pytest.raises(ConfigError, match="'path'.*not an existing folder"):
        list_source_files(RealSource(name="mine", kind="folder", path=str(tmp_path / "absent")))


def test_unknown_kind_lists_the_registered_ones():
    with pytest.raises(UnknownEntryError, match="embedded, folder"):
        list_source_files(RealSource(name="x", kind="ftp"))
    assert {"embedded", "folder"} <= set(SOURCES.names())
