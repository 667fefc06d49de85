"""The pixel-artifact dataset, built from a tiny synthetic stage: six photos (three JPEG
files at q85, three PNG) ingested into 128-px tiles, and "reconstructions" that are
slightly noised copies of the tiles."""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from aligngemini.catalog.records import MANIFEST_COLUMNS
from aligngemini.config import DatasetsConfig, ImageLimits, PixelDatasetConfig, SemanticDatasetConfig
from aligngemini.datasets.align import jpeg, reconstruction_transform
from aligngemini.datasets.build import DATASET_BUILDERS, DatasetBuild, DatasetInputs, write_dataset_manifest
from aligngemini.datasets.pixel import build_pixel_dataset, native_reconstructions
from aligngemini.datasets.shortcuts import sharpness
from aligngemini.datasets.splits import plan_splits
from aligngemini.datasets.validation import ValidationPolicy, validate_manifest
from aligngemini.images.loader import load_image
from aligngemini.images.store import ImageStore
from aligngemini.ingest.ingest import ingest_file
from aligngemini.ingest.sources import SourceFile
from aligngemini.paths import resolve_inside

SEED = 7
CREATED_AT = "2025-01-01T00:00:00+00:00"
RECONSTRUCTOR = "recon-vae"
FRACTIONS = {"train": 0.5, "val": 0.25, "test": 0.25}
CONFIG = PixelDatasetConfig(jpeg_align_probability=1.0, resample_probability=0.5, resample_down=(0.5, 1.0), resample_up=(1.0, 2.0))


@dataclass
class Stage:
    root: Path
    real_rows: list[dict]
    recon_rows: list[dict]
    limits: ImageLimits
    exact_copy: str  # the tile whose "reconstruction" is pixel-identical to it
    unpaired: str  # the tile without a native-size reconstruction

    def load(self, row: dict) -> Image.Image:
        return load_image(resolve_inside(Path("data"), row["path"], base=self.root), self.limits).image

    def build(self, config: PixelDatasetConfig = CONFIG, real_rows=None, recon_rows=None, heldout=()) -> DatasetBuild:
        real_rows = self.real_rows if real_rows is None else real_rows
        return build_pixel_dataset(
            real_rows, self.recon_rows if recon_rows is None else recon_rows,
            plan_splits(real_rows, FRACTIONS, SEED, ()), config, SEED,
            ImageStore(Path("data/datasets/pixel"), self.root), self.load, created_at=CREATED_AT, heldout_reconstructors=heldout,
        )  # fmt: skip


def _photo(rng: np.random.Generator) -> Image.Image:
    coarse = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).resize((256, 256), Image.BICUBIC)
    texture = rng.integers(-12, 13, (256, 256, 3))
    return Image.fromarray(np.clip(np.asarray(coarse, dtype=np.int16) + texture, 0, 255).astype(np.uint8))


def _noised(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    noise = rng.integers(-3, 4, (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8))


def _recon_row(tile: dict, stored, resize: int | None) -> dict:
    return {
        **tile, "sha256": stored.sha256, "path": stored.path, "kind": "reconstruction", "source": RECONSTRUCTOR,
        "parent_sha256": tile["sha256"], "width": stored.width, "height": stored.height,
        "transform": reconstruction_transform(RECONSTRUCTOR, resize), "source_format": None, "jpeg_quality": None,
    }  # fmt: skip


def make_stage(root: Path, limits: ImageLimits) -> Stage:
    """Photos ingested into tiles; every tile but one gets a native-size reconstruction
    (one of them an exact copy), and one tile also a resized one (ignored by this dataset)."""
    rng = np.random.default_rng(0)
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    real_store, recon_store = ImageStore(Path("data/real"), root), ImageStore(Path("data/recon"), root)
    real_rows = []
    for index in range(6):
        path = incoming / (f"photo{index}.jpg" if index < 3 else f"photo{index}.png")
        _photo(rng).save(path, quality=85)
        result = ingest_file(SourceFile(path.name, path), "test", real_store, limits, 128, 128, CREATED_AT, None)
        real_rows += [{column: record.to_row()[column] for column in MANIFEST_COLUMNS} for record in result.records]
    tiles = sorted((row for row in real_rows if row["parent_sha256"]), key=lambda row: row["sha256"])
    png_tiles = [tile for tile in tiles if tile["source_format"] == "PNG"]
    unpaired, exact_copy = tiles[0], png_tiles[-1]
    recon_rows = []
    for tile in tiles[1:]:
        image = Image.open(root / tile["path"]).convert("RGB")
        recon_image = image if tile is exact_copy else _noised(image, rng)
        recon_rows.append(_recon_row(tile, recon_store.put(recon_image), None))
    resized = Image.open(root / tiles[1]["path"]).convert("RGB").resize((64, 64))
    recon_rows.append(_recon_row(tiles[1], recon_store.put(_noised(resized, rng)), 64))
    return Stage(root, real_rows, recon_rows, limits, exact_copy["sha256"], unpaired["sha256"])


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Stage:
    limits = ImageLimits(max_pixels=40_000_000, max_bytes=52_428_800, min_side=8, animated="refuse")
    return make_stage(tmp_path_factory.mktemp("pixel"), limits)


@pytest.fixture(scope="module")
def built(stage) -> DatasetBuild:
    return stage.build()


def _pairs(build: DatasetBuild) -> dict[str, dict[str, dict]]:
    pairs: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in build.rows:
        assert row["label"] not in pairs[row["pair_id"]], f"pair {row['pair_id']} has two {row['label']} rows"
        pairs[row["pair_id"]][row["label"]] = row
    return pairs


def test_every_reconstructed_tile_gives_one_complete_pair(stage, built):
    tiles = {row["sha256"]: row for row in stage.real_rows if row["parent_sha256"]}
    pairs = _pairs(built)
    assert set(pairs) == set(tiles) - {stage.unpaired, stage.exact_copy}
    for pair_id, pair in pairs.items():
        real, fake = pair["real"], pair["fake"]
        assert real["group"] == fake["group"] == f"photo:{tiles[pair_id]['parent_sha256']}"
        assert real["split"] == fake["split"]
        assert (real["generator"], fake["generator"]) == (None, RECONSTRUCTOR)
        assert real["dataset"] == fake["dataset"] == "pixel"
    assert [row["sha256"] for row in built.rows] == sorted(row["sha256"] for row in built.rows)


def test_members_of_a_pair_have_the_same_size_and_mode(stage, built):
    for pair in _pairs(built).values():
        real, fake = stage.load(pair["real"]), stage.load(pair["fake"])
        assert (real.size, real.mode) == (fake.size, fake.mode)
        for row in pair.values():
            assert (row["width"], row["height"]) == real.size


def test_the_fake_is_jpeg_aligned_only_when_its_partner_came_from_a_jpeg(stage, built):
    tiles = {row["sha256"]: row for row in stage.real_rows}
    recons = {row["parent_sha256"]: row for row in stage.recon_rows if row["transform"] == f"vae({RECONSTRUCTOR})"}
    checked = Counter()
    for pair_id, pair in _pairs(built).items():
        fake_transform = pair["fake"]["transform"] or ""
        assert "jpeg" not in (pair["real"]["transform"] or "")
        if tiles[pair_id]["source_format"] == "JPEG":
            assert tiles[pair_id]["jpeg_quality"] == 85
            assert fake_transform.startswith("jpeg(q=85)")
            if fake_transform == "jpeg(q=85)":  # not resampled: the stored fake is the JPEG of the reconstruction
                expected, _ = jpeg(stage.load(recons[pair_id]), 85)
                assert stage.load(pair["fake"]).tobytes() == expected.tobytes()
                checked["jpeg only"] += 1
        else:
            assert "jpeg" not in fake_transform
            checked["png"] += 1
    assert checked["jpeg only"] and checked["png"]


def test_jpeg_alignment_is_drawn_per_pair(stage):
    half = stage.build(CONFIG.model_copy(update={"jpeg_align_probability": 0.5}))
    tiles = {row["sha256"]: row for row in stage.real_rows}
    aligned = Counter(
        (pair["fake"]["transform"] or "").startswith("jpeg(") for pair_id, pair in _pairs(half).items() if tiles[pair_id]["source_format"] == "JPEG"
    )
    assert aligned[True] and aligned[False], aligned


def test_sharpness_matching_blurs_the_sharper_member_to_the_other(stage):
    blurred = [
        {**row, "source": "blurry", "transform": reconstruction_transform("blurry", None)} for row in stage.recon_rows if row["transform"] == f"vae({RECONSTRUCTOR})"
    ]  # fmt: skip
    store = ImageStore(Path("data/recon"), stage.root)
    for row in blurred:  # a decoder that loses detail: the shortcut a sharpness match removes
        stored = store.put(stage.load(row).filter(ImageFilter.GaussianBlur(1.2)))
        row.update(sha256=stored.sha256, path=stored.path)
    matched = stage.build(CONFIG.model_copy(update={"sharpness_tolerance": 0.05, "resample_probability": 0.0}), recon_rows=blurred)
    ratios = []
    for pair in _pairs(matched).values():
        real, fake = (np.asarray(stage.load(pair[label]), dtype=np.float64) for label in ("real", "fake"))
        ratios.append(sharpness(fake) / sharpness(real))
        assert (pair["real"]["transform"] or "").startswith("blur(s=")
    assert 0.9 < np.median(ratios) < 1.1, ratios


def test_heldout_reconstructors_never_enter_the_dataset(stage, built):
    held = [{**row, "source": "held-out", "transform": reconstruction_transform("held-out", None)} for row in stage.recon_rows]
    assert stage.build(recon_rows=[*stage.recon_rows, *held], heldout=["held-out"]) == built
    assert stage.build(recon_rows=held, heldout=["held-out"]).rows == []


def test_resampling_is_identical_for_both_members(built):
    resample = re.compile(r"resample\(down=[\d.]+,up=[\d.]+\)")
    counts = Counter()
    for pair in _pairs(built).values():
        real, fake = pair["real"], pair["fake"]
        real_steps = resample.findall(real["transform"] or "")
        assert real_steps == resample.findall(fake["transform"] or "")
        if real_steps:
            assert real["transform"] == real_steps[0]
            assert (fake["transform"] or "").endswith(real["transform"])
            assert (real["width"], real["height"]) == (fake["width"], fake["height"])
        counts[bool(real_steps)] += 1
    assert counts[True] and counts[False], counts  # p=0.5 over 22 pairs: both cases occur


def test_derived_images_are_recorded_with_their_lineage(stage, built):
    stage_rows = {row["sha256"]: row for row in [*stage.real_rows, *stage.recon_rows]}
    records = {record.sha256: record for record in built.new_records}
    for row in built.rows:
        if row["transform"] is None:
            assert row["sha256"] in stage_rows and row["path"] == stage_rows[row["sha256"]]["path"]
            continue
        record = records.pop(row["sha256"])
        parent = stage_rows[record.parent_sha256]
        assert record.kind == parent["kind"] == ("real" if row["label"] == "real" else "reconstruction")
        assert (record.transform, record.path, record.created_at) == (row["transform"], row["path"], CREATED_AT)
        assert row["path"].startswith("data/datasets/pixel/")
        assert (stage.root / row["path"]).is_file()
    assert not records, "records of images that are in no row"


def test_no_alignment_when_disabled(stage):
    plain = CONFIG.model_copy(update={"jpeg_align_probability": 0.0, "resample_probability": 0.0})
    build = stage.build(plain)
    assert all(row["transform"] is None for row in build.rows)
    assert build.new_records == []


def test_a_reconstruction_of_another_size_is_refused(stage):
    tile = next(row for row in stage.real_rows if row["sha256"] == stage.unpaired)
    image = stage.load(tile).resize((120, 128))
    wrong = _recon_row(tile, ImageStore(Path("data/recon"), stage.root).put(image), None)
    with pytest.raises(ValueError, match="120x128"):
        stage.build(real_rows=[tile], recon_rows=[wrong])


def test_two_builds_give_identical_manifests_and_images(stage, built, tmp_path):
    """A second project with a copy of the stage, inputs shuffled: same bytes everywhere."""
    twin_root = tmp_path / "twin"
    for folder in ("data/real", "data/recon"):
        shutil.copytree(stage.root / folder, twin_root / folder)
    twin = Stage(twin_root, *(random.Random(3).sample(rows, len(rows)) for rows in (stage.real_rows, stage.recon_rows)),
                 stage.limits, stage.exact_copy, stage.unpaired)  # fmt: skip
    again = twin.build()
    write_dataset_manifest(built.rows, stage.root / "pixel.parquet")
    write_dataset_manifest(again.rows, twin_root / "pixel.parquet")
    assert (stage.root / "pixel.parquet").read_bytes() == (twin_root / "pixel.parquet").read_bytes()
    for record in built.new_records:
        assert (stage.root / record.path).read_bytes() == (twin_root / record.path).read_bytes()


def test_the_manifest_passes_validation(stage, built):
    path = stage.root / "data/datasets/pixel.parquet"
    write_dataset_manifest(built.rows, path)
    policy = ValidationPolicy(
        allowed_generators=frozenset({RECONSTRUCTOR}), balance_tolerance=0.05, min_side=16, max_side=1024,
        project_root=stage.root, data_root=Path("data"),
    )  # fmt: skip
    report = validate_manifest(pd.read_parquet(path), policy, "pixel")
    assert report.success, report.render()


def test_the_registered_builder_builds_the_same_dataset(stage, built):
    config = DatasetsConfig(
        seed=SEED, split_fractions=FRACTIONS, heldout_generators=[], heldout_reconstructors=[], pixel=CONFIG,
        semantic=SemanticDatasetConfig(jpeg_probability=0.5, jpeg_quality=(70, 95)),
    )  # fmt: skip
    inputs = DatasetInputs(stage.real_rows, [], stage.recon_rows, plan_splits(stage.real_rows, FRACTIONS, SEED, ()))
    store = ImageStore(Path("data/datasets/pixel"), stage.root)
    builder = DATASET_BUILDERS.get("pixel")
    registered = builder(inputs, config, store, stage.load, created_at=CREATED_AT, flow_run_id=None)
    assert registered == built


def test_a_resize_to_the_reals_own_side_counts_as_native_and_a_true_native_comes_first():
    # the reconstruct stage plans one resized job where a tile's side is the semantic size
    reals = {name: {"sha256": name, "width": 336, "height": 336} for name in ("drawn-a", "drawn-b", "small")}

    def recon(parent: str, source: str, resize: int | None) -> dict:
        return {"sha256": f"{parent}-{source}-{resize}", "parent_sha256": parent, "source": source,
                "transform": reconstruction_transform(source, resize)}  # fmt: skip

    rows = [recon("drawn-a", "a", 336), recon("drawn-b", "a", 336), recon("drawn-b", "b", None), recon("small", "a", 64)]
    partners = native_reconstructions(rows, reals)
    assert {real: row["sha256"] for real, row in partners.items()} == {"drawn-a": "drawn-a-a-336", "drawn-b": "drawn-b-b-None"}
