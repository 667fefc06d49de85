"""The semantic dataset, built from a tiny synthetic stage: eight photos ingested into
128-px tiles, images of three generators for ten prompts (gen-a one per prompt, gen-b two,
gen-held one at 32 px, held out), and "reconstructions" (slightly blurred 64-px resizes)
of every tile and generated image."""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from aligngemini.catalog.records import MANIFEST_COLUMNS, ImageRecord
from aligngemini.config import DatasetsConfig, ImageLimits, PixelDatasetConfig, SemanticDatasetConfig
from aligngemini.datasets.align import reconstruction_transform, resize
from aligngemini.datasets.build import DATASET_BUILDERS, DatasetBuild, DatasetInputs, write_dataset_manifest
from aligngemini.datasets.semantic import build_semantic_dataset
from aligngemini.datasets.splits import group_of, index_rows, plan_splits
from aligngemini.datasets.validation import ValidationPolicy, validate_manifest
from aligngemini.images.loader import load_image
from aligngemini.images.store import ImageStore
from aligngemini.ingest.ingest import ingest_file
from aligngemini.ingest.sources import SourceFile
from aligngemini.paths import resolve_inside

SEED = 7
CREATED_AT = "2025-01-01T00:00:00+00:00"
RECONSTRUCTOR = "recon-vae"
HELD_OUT = "gen-held"
IMAGES_PER_PROMPT = {"gen-a": 1, "gen-b": 2, HELD_OUT: 1}
FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
CONFIG = SemanticDatasetConfig(jpeg_probability=0.5, jpeg_quality=(70, 95))
BALANCED = ("train", "val", "test")


@dataclass
class Stage:
    root: Path
    real_rows: list[dict]
    generated_rows: list[dict]
    recon_rows: list[dict]
    limits: ImageLimits

    def load(self, row: dict) -> Image.Image:
        return load_image(resolve_inside(Path("data"), row["path"], base=self.root), self.limits).image

    def splits(self) -> dict[str, str]:
        return plan_splits([*self.real_rows, *self.generated_rows], FRACTIONS, SEED, {HELD_OUT})

    def build(self, splits: dict[str, str] | None = None) -> DatasetBuild:
        return build_semantic_dataset(
            self.real_rows, self.generated_rows, self.recon_rows, self.splits() if splits is None else splits,
            {HELD_OUT}, CONFIG, SEED, ImageStore(Path("data/datasets/semantic"), self.root), self.load,
            created_at=CREATED_AT,
        )  # fmt: skip


def _row(record: ImageRecord) -> dict:
    return {column: record.to_row()[column] for column in MANIFEST_COLUMNS}


def _stored_row(store: ImageStore, image: Image.Image, **fields) -> dict:
    stored = store.put(image)
    return {
        "sha256": stored.sha256, "path": stored.path, "kind": "generated", "source": None, "parent_sha256": None,
        "generator": None, "prompt": None, "seed": None, "width": stored.width, "height": stored.height,
        "transform": None, "source_format": None, "jpeg_quality": None, **fields,
    }  # fmt: skip


def make_stage(root: Path, limits: ImageLimits) -> Stage:
    rng = np.random.default_rng(1)
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    stores = {name: ImageStore(Path(f"data/{name}"), root) for name in ("real", "generated", "recon")}
    real_rows = []
    for index in range(8):
        path = incoming / f"photo{index}.png"
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(path)
        result = ingest_file(SourceFile(path.name, path), "test", stores["real"], limits, 128, 128, CREATED_AT, None)
        real_rows += [_row(record) for record in result.records]
    generated_rows = [
        _stored_row(
            stores["generated"], Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)),
            kind="generated", source=generator, generator=generator, prompt=f"prompt {prompt}", seed=replicate,
        )
        for generator, count in IMAGES_PER_PROMPT.items()
        for size in [32 if generator == HELD_OUT else 64]
        for prompt in range(10)
        for replicate in range(count)
    ]  # fmt: skip
    sources = [row for row in real_rows if row["parent_sha256"]] + generated_rows
    recon_rows = [
        _stored_row(
            stores["recon"], resize(Image.open(root / source["path"]).convert("RGB"), 64)[0].filter(ImageFilter.BLUR),
            kind="reconstruction", source=RECONSTRUCTOR, parent_sha256=source["sha256"],
            transform=reconstruction_transform(RECONSTRUCTOR, 64),
        )
        for source in sources
    ]  # fmt: skip
    native = _stored_row(stores["recon"], Image.open(root / sources[0]["path"]).filter(ImageFilter.BLUR),
                         kind="reconstruction", source=RECONSTRUCTOR, parent_sha256=sources[0]["sha256"],
                         transform=reconstruction_transform(RECONSTRUCTOR, None))  # fmt: skip
    return Stage(root, real_rows, generated_rows, [*recon_rows, native], limits)


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Stage:
    limits = ImageLimits(max_pixels=40_000_000, max_bytes=52_428_800, min_side=8, animated="refuse")
    return make_stage(tmp_path_factory.mktemp("semantic"), limits)


@pytest.fixture(scope="module")
def built(stage) -> DatasetBuild:
    return stage.build()


def _counts(build: DatasetBuild) -> Counter:
    return Counter((row["split"], row["label"], row["generator"]) for row in build.rows)


def _assert_balanced(build: DatasetBuild) -> None:
    counts = _counts(build)
    for split in BALANCED:
        a, b, reals = counts[split, "fake", "gen-a"], counts[split, "fake", "gen-b"], counts[split, "real", None]
        assert a == b and reals == a + b, (split, counts)


def test_balanced_per_generator_and_per_split(built):
    counts = _counts(built)
    _assert_balanced(built)
    # the plan: 8 photos -> 5/2/1 (32 tiles: 20/8/4), 10 prompts -> 6/2/2; gen-a limits every split
    assert [counts[split, "fake", "gen-a"] for split in BALANCED] == [6, 2, 2]


def test_fewer_reals_than_fakes_drops_fakes_evenly(stage):
    splits = {group: ("test" if group.startswith("prompt:") else split) for group, split in stage.splits().items()}
    build = stage.build(splits)
    counts = _counts(build)
    _assert_balanced(build)
    # 4 test reals for 10 gen-a and 20 gen-b fakes: 2 of each; train and val hold no fakes, so no reals
    assert (counts["test", "fake", "gen-a"], counts["test", "real", None]) == (2, 4)
    assert not [row for row in build.rows if row["split"] in ("train", "val")]


def test_the_held_out_generator_is_only_in_heldout(built):
    held = [row for row in built.rows if row["generator"] == HELD_OUT]
    assert len(held) == 10
    assert {row["split"] for row in held} == {"heldout"}
    assert {row["group"] for row in held} == {f"generator:{HELD_OUT}"}
    assert all(row["generator"] == HELD_OUT for row in built.rows if row["split"] == "heldout")


def test_samples_keep_the_group_and_split_of_their_source(stage, built):
    index = index_rows(stage.real_rows, stage.generated_rows, stage.recon_rows)
    splits = stage.splits()
    records = {record.sha256: record for record in built.new_records}
    for row in built.rows:
        recon = index[records[row["sha256"]].parent_sha256 if row["sha256"] in records else row["sha256"]]
        assert recon["kind"] == "reconstruction" and recon["transform"] == f"resize(64)+vae({RECONSTRUCTOR})"
        source = index[recon["parent_sha256"]]
        assert row["group"] == group_of(source, index, {HELD_OUT})
        assert row["split"] == splits[row["group"]]
        assert row["label"] == ("fake" if source["kind"] == "generated" else "real")
        assert row["generator"] == source["generator"] and row["pair_id"] is None
        if source["kind"] == "real":
            assert row["group"] == f"photo:{source['parent_sha256']}"


def test_both_sides_get_the_same_jpeg_treatment(stage, built):
    jpeg = re.compile(r"jpeg\(q=(\d+)\)")
    records = {record.sha256: record for record in built.new_records}
    treated = Counter()
    for row in built.rows:
        treated[row["label"], row["transform"] is not None] += 1
        if row["transform"] is None:
            assert row["sha256"] not in records
            continue
        assert 70 <= int(jpeg.fullmatch(row["transform"])[1]) <= 95
        record = records.pop(row["sha256"])
        assert (record.kind, record.transform, record.created_at) == ("reconstruction", row["transform"], CREATED_AT)
        assert (stage.root / row["path"]).is_file() and row["path"].startswith("data/datasets/semantic/")
    assert not records
    assert all(treated[label, jpegged] >= 5 for label in ("real", "fake") for jpegged in (True, False)), treated


def test_two_builds_give_identical_manifests_and_images(stage, built, tmp_path):
    """A second project with a copy of the stage, inputs shuffled: same bytes everywhere."""
    twin_root = tmp_path / "twin"
    for folder in ("data/real", "data/generated", "data/recon"):
        shutil.copytree(stage.root / folder, twin_root / folder)
    inputs = (stage.real_rows, stage.generated_rows, stage.recon_rows)
    shuffled = (random.Random(5).sample(rows, len(rows)) for rows in inputs)
    again = Stage(twin_root, *shuffled, stage.limits).build()
    write_dataset_manifest(built.rows, stage.root / "semantic.parquet")
    write_dataset_manifest(again.rows, twin_root / "semantic.parquet")
    assert (stage.root / "semantic.parquet").read_bytes() == (twin_root / "semantic.parquet").read_bytes()
    assert built.new_records and [replace(r, created_at="") for r in built.new_records] == [
        replace(r, created_at="") for r in again.new_records
    ]
    for record in built.new_records:
        assert (stage.root / record.path).read_bytes() == (twin_root / record.path).read_bytes()


def test_the_manifest_passes_validation(stage, built):
    path = stage.root / "data/datasets/semantic.parquet"
    write_dataset_manifest(built.rows, path)
    policy = ValidationPolicy(
        allowed_generators=frozenset(IMAGES_PER_PROMPT), balance_tolerance=0.05, min_side=16, max_side=1024,
        project_root=stage.root, data_root=Path("data"), balance_splits=frozenset(BALANCED),
    )  # fmt: skip
    report = validate_manifest(pd.read_parquet(path), policy, "semantic")
    assert report.success, report.render()


def test_the_registered_builder_builds_the_same_dataset(stage, built):
    config = DatasetsConfig(
        seed=SEED, split_fractions=FRACTIONS, heldout_generators=[HELD_OUT], heldout_reconstructors=[], semantic=CONFIG,
        pixel=PixelDatasetConfig(jpeg_align_probability=1.0, resample_probability=0.0, resample_down=(1, 1), resample_up=(1, 1)),
    )  # fmt: skip
    inputs = DatasetInputs(stage.real_rows, stage.generated_rows, stage.recon_rows, stage.splits())
    store = ImageStore(Path("data/datasets/semantic"), stage.root)
    builder = DATASET_BUILDERS.get("semantic")
    registered = builder(inputs, config, store, stage.load, created_at=CREATED_AT, flow_run_id=None)
    assert registered == built
