from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aligngemini.config import RealSource
from aligngemini.images.store import ImageStore
from aligngemini.ingest.ingest import ingest_file
from aligngemini.ingest.sources import SOURCES, SourceFile, list_source_files
from aligngemini.ingest.tiling import tile_boxes

TILE = 128
CREATED_AT = "2025-01-01T00:00:00+00:00"
GOOD = {  # case -> (source_format, jpeg_quality, decoded width, height)
    "good_jpeg": ("JPEG", 90, 320, 256),
    "good_png": ("PNG", None, 384, 272),
    "cmyk_jpeg": ("JPEG", 95, 256, 192),
    "png16": ("PNG", None, 256, 160),
    "exif_rotated": ("JPEG", 90, 192, 320),
}
BAD = {
    "truncated_jpeg": "truncated",
    "text_png": "not_an_image",
    "bomb_png": "too_large",
    "big_header_png": "too_large",
    "animated_gif": "animated",
}


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "data" / "real", project_root=tmp_path)


def _ingest(path: Path, store: ImageStore, limits, name: str = "case"):
    return ingest_file(SourceFile(name, path), "test-source", store, limits, TILE, TILE, CREATED_AT, "run-1")


def test_cases_cover_the_fixture(hostile_folder):
    assert set(GOOD) | set(BAD) == set(hostile_folder.files)
    assert BAD == hostile_folder.refused


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_file_gives_photo_and_tiles(hostile_folder, store, image_limits, tmp_path, case):
    fmt, quality, width, height = GOOD[case]
    result = _ingest(hostile_folder.files[case], store, image_limits)
    assert result.quarantine is None
    photo, *tiles = result.records
    assert (photo.width, photo.height, photo.parent_sha256, photo.transform) == (width, height, None, None)
    boxes = tile_boxes(width, height, TILE, TILE)
    assert len(tiles) == len(boxes) >= 1
    with Image.open(tmp_path / photo.path) as stored_photo:
        whole = np.asarray(stored_photo)
    for tile, (x, y) in zip(tiles, boxes):
        assert tile.parent_sha256 == photo.sha256
        assert tile.transform == f"tile(x={x},y={y},size={TILE})"
        assert (tile.width, tile.height) == (TILE, TILE)
        with Image.open(tmp_path / tile.path) as stored_tile:
            np.testing.assert_array_equal(np.asarray(stored_tile), whole[y : y + TILE, x : x + TILE])
    for record in result.records:
        assert (record.kind, record.source, record.source_format, record.jpeg_quality) == ("real", "test-source", fmt, quality)
        assert (record.created_at, record.flow_run_id, record.generator) == (CREATED_AT, "run-1", None)
        assert hashlib.sha256((tmp_path / record.path).read_bytes()).hexdigest() == record.sha256
        assert record.path.startswith("data/real/")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_is_quarantined_and_nothing_is_stored(hostile_folder, store, image_limits, case):
    path = hostile_folder.files[case]
    result = _ingest(path, store, image_limits)
    assert result.records == []
    quarantine = result.quarantine
    assert (quarantine.path, quarantine.reason) == (str(path), BAD[case])
    assert str(path) in quarantine.detail
    assert (quarantine.created_at, quarantine.flow_run_id) == (CREATED_AT, "run-1")
    assert store.files() == []


def test_ingest_is_idempotent(hostile_folder, store, image_limits):
    first = _ingest(hostile_folder.files["good_png"], store, image_limits)
    files = store.files()
    assert _ingest(hostile_folder.files["good_png"], store, image_limits) == first
    assert store.files() == files


def test_identical_tiles_are_recorded_once(tmp_path, store, image_limits):
    flat = tmp_path / "flat.png"
    Image.new("RGB", (3 * TILE, TILE), (40, 50, 60)).save(flat)
    single = tmp_path / "single.png"
    Image.effect_noise((TILE, TILE), 30).convert("RGB").save(single)
    photo, *tiles = _ingest(flat, store, image_limits).records
    assert [tile.transform for tile in tiles] == [f"tile(x=0,y=0,size={TILE})"]
    assert len(_ingest(single, store, image_limits).records) == 1  # the only tile is the photo itself


@pytest.fixture
def example_sources(hostile_folder) -> dict[str, RealSource]:
    """One example params entry per registered source kind."""
    return {
        "embedded": RealSource(name="embedded", kind="embedded"),
        "folder": RealSource(name="hostile", kind="folder", path=str(hostile_folder.root)),
    }


@pytest.mark.parametrize("kind", SOURCES.names())
def test_every_source_ingests_without_raising(kind, example_sources, store, image_limits):
    source = example_sources[kind]
    results = [
        ingest_file(file, source.name, store, image_limits, TILE, TILE, CREATED_AT, None)
        for file in list_source_files(source)
    ]
    assert results
    for result in results:
        assert bool(result.records) != bool(result.quarantine)
        assert all(record.source == source.name for record in result.records)
    stored = {path.relative_to(store.project_root).as_posix() for path in store.files()}
    assert {record.path for result in results for record in result.records} == stored
