from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from aligngemini.catalog import db as catalog_db
from aligngemini.catalog.db import Catalog, CatalogBusy
from aligngemini.catalog.lineage import LineageAmbiguous, LineageNotFound, generator_lineage, image_lineage, model_lineage
from aligngemini.catalog.records import (
    DatasetMemberRecord,
    DatasetRecord,
    GeneratorRecord,
    ImageRecord,
    ModelDecisionRecord,
    ModelRecord,
    TrainingRecord,
)
from aligngemini.catalog.shards import write_shard

MODEL = "detector"
# Two images share the prefix 'deadbeef', so it is ambiguous while 'deadbeef1' is not.
SHA = {name: hashlib.sha256(name.encode()).hexdigest() for name in (
    "photo", "tile1", "tile2", "recon1", "recon2", "jpeg1", "a1", "ra1", "jpeg_ra1", "jpeg_a1", "ra2", "rb1",
    "c1", "rc1", "d1",
)} | {"a2": "deadbeef" + "0" * 56, "b1": "deadbeef" + "1" * 56}  # fmt: skip
# name -> (kind, parent, generator, transform)
IMAGES = {
    "photo": ("real", None, None, None),
    "tile1": ("real", "photo", None, "tile(x=0,y=0,size=64)"),
    "tile2": ("real", "photo", None, "tile(x=64,y=0,size=64)"),
    "recon1": ("reconstruction", "tile1", None, "reconstruct(vae)"),
    "recon2": ("reconstruction", "tile2", None, "reconstruct(vae)"),
    "jpeg1": ("real", "tile1", None, "jpeg(q=90)"),
    "a1": ("generated", None, "gen-a", None),
    "a2": ("generated", None, "gen-a", None),
    "b1": ("generated", None, "gen-b", None),
    "c1": ("generated", None, "gen-c", None),
    "d1": ("generated", None, "gen-d", None),
    "ra1": ("reconstruction", "a1", None, "reconstruct(vae,resize=0.5)"),
    "jpeg_ra1": ("reconstruction", "ra1", None, "jpeg(q=80)"),
    "jpeg_a1": ("generated", "a1", "gen-a", "jpeg(q=80)"),
    "ra2": ("reconstruction", "a2", None, "reconstruct(vae,resize=0.5)"),
    "rb1": ("reconstruction", "b1", None, "reconstruct(vae,resize=0.5)"),
    "rc1": ("reconstruction", "c1", None, "reconstruct(vae,resize=0.5)"),
}
# dataset md5 -> (name, members: image name -> (split, label, generator))
DATASETS = {
    "p1" * 16: ("pixel", {"tile1": ("train", "real", None), "recon1": ("train", "fake", "vae"), "tile2": ("val", "real", None),
                          "recon2": ("val", "fake", "vae"), "jpeg1": ("train", "real", None)}),
    "s1" * 16: ("semantic", {"jpeg_ra1": ("train", "fake", "gen-a"), "jpeg_a1": ("train", "fake", "gen-a"),
                             "ra2": ("val", "fake", "gen-a"), "rb1": ("heldout", "fake", "gen-b"), "recon1": ("train", "real", None)}),
    "s2" * 16: ("semantic", {"rb1": ("train", "fake", "gen-b"), "rc1": ("train", "fake", "gen-c"), "recon2": ("train", "real", None)}),
}  # fmt: skip
# version -> (pixel md5, semantic md5, semantic checkpoint)
MODELS = {"v0.0.1": ("p1" * 16, "s1" * 16, "cs1" * 20), "v0.0.2": ("p1" * 16, "s2" * 16, "cs2" * 20)}
PIXEL_CHECKPOINT = "cp1" * 20


def _at(day: int) -> str:
    return f"2025-03-{day:02d}T10:00:00+00:00"


def _model(index: int, version: str, pixel: str, semantic: str, semantic_ckpt: str) -> dict:
    return ModelRecord(
        name=MODEL, version=version, commit=f"commit{index}", artifact_md5=f"art{index}", fusion_rule="or",
        pixel_checkpoint_sha256=PIXEL_CHECKPOINT, semantic_checkpoint_sha256=semantic_ckpt,
        pixel_dataset_md5=pixel, semantic_dataset_md5=semantic, params_hash="h" * 64,
        params=json.dumps({"fusion": {"rule": "or"}}), generators=json.dumps(["gen-a", "gen-b"]), git_rev="rev1", git_dirty=index == 1,
        metrics=json.dumps({"balanced_accuracy": 0.9 + index / 100}), created_at=_at(26 + index), flow_run_id="run-4",
    ).to_row()  # fmt: skip


def stage_lineage_records(staging: Path) -> None:
    """Write the shards of the small catalog the lineage tests know by heart (see the tables above)."""
    images = [
        ImageRecord(
            sha256=SHA[name], path=f"data/store/{name}.png", kind=kind, source=generator or "coco",
            parent_sha256=SHA[parent] if parent else None, generator=generator, prompt="a cat" if generator else None,
            seed=index if generator else None, width=64, height=64, transform=transform, source_format=None,
            jpeg_quality=None, created_at=_at(1 + index), flow_run_id="run-1",
        ).to_row()
        for index, (name, (kind, parent, generator, transform)) in enumerate(IMAGES.items())
    ]  # fmt: skip
    write_shard(staging, "images", images)
    write_shard(staging, "generators", [
        GeneratorRecord(name, "auto", f"models/{name}", 8, 3.0, 64, 1000, "text", "c" * 64, _at(1)).to_row()
        for name in ("gen-a", "gen-b", "gen-c", "gen-d", "gen-e")
    ])  # fmt: skip
    write_shard(staging, "datasets", [
        DatasetRecord(name, md5, "rev1", "h" * 64, len(members), True, "{}", _at(20 + i), "run-2").to_row()
        for i, (md5, (name, members)) in enumerate(DATASETS.items())
    ])  # fmt: skip
    write_shard(staging, "dataset_members", [
        DatasetMemberRecord(md5, name, SHA[image], split, label, generator).to_row()
        for md5, (name, members) in DATASETS.items() for image, (split, label, generator) in members.items()
    ])  # fmt: skip
    trainings = [("pixel", PIXEL_CHECKPOINT, "p1" * 16, 60.0), ("semantic", "cs1" * 20, "s1" * 16, 120.0),
                 ("semantic", "cs2" * 20, "s2" * 16, 130.0), ("pixel", "cp9" * 20, "p9" * 16, 10.0)]  # fmt: skip
    write_shard(staging, "trainings", [
        TrainingRecord(branch, ckpt, f"models/{branch}", branch, md5, "h" * 64, "rev1", "{}", seconds, _at(25), "run-3").to_row()
        for branch, ckpt, md5, seconds in trainings
    ])  # fmt: skip
    write_shard(staging, "models", [
        _model(i, version, pixel, semantic, semantic_ckpt) for i, (version, (pixel, semantic, semantic_ckpt)) in enumerate(MODELS.items())
    ])  # fmt: skip
    write_shard(staging, "model_decisions", [
        ModelDecisionRecord(MODEL, "v0.0.1", "prod", True, "no production yet", None, _at(27), "run-4").to_row(),
        ModelDecisionRecord(MODEL, "v0.0.2", "prod", False, "0.91 does not beat 0.90 by the margin", "v0.0.1", _at(28), "run-5").to_row(),
    ])  # fmt: skip


def build_lineage_catalog(db: Path) -> Path:
    """The small catalog the lineage tests know by heart, merged as the pipeline merges."""
    stage_lineage_records(db.parent / "staging")
    with Catalog(db) as catalog:
        catalog.merge_staging(db.parent / "staging")
    return db


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_lineage_catalog(tmp_path_factory.mktemp("lineage") / "catalog.duckdb")


def _names(rows: list[dict], key: str = "sha256") -> list[str]:
    by_sha = {sha: name for name, sha in SHA.items()}
    return [by_sha[row[key]] for row in rows]


def test_model_lineage_lists_its_datasets_generators_trainings_and_decisions(db):
    found = model_lineage(db, f"{MODEL}@v0.0.1")
    assert found["model"]["tag"] == f"{MODEL}@v0.0.1"
    assert found["model"]["params"] == {"fusion": {"rule": "or"}} and found["model"]["metrics"] == {"balanced_accuracy": 0.9}
    assert [(d["branch"], d["name"], d["md5"], d["rows"], d["validation_success"]) for d in found["datasets"]] == [
        ("pixel", "pixel", "p1" * 16, 5, True),
        ("semantic", "semantic", "s1" * 16, 5, True),
    ]
    # a1 reaches the semantic set three ways (its JPEG copy, its reconstruction's JPEG copy) and counts once.
    assert found["generators"] == [{"name": "gen-a", "images": 2}, {"name": "gen-b", "images": 1}]
    assert [(t["branch"], t["checkpoint_sha256"], t["train_seconds"]) for t in found["trainings"]] == [
        ("pixel", PIXEL_CHECKPOINT, 60.0),
        ("semantic", "cs1" * 20, 120.0),
    ]
    assert [(d["stage"], d["promoted"]) for d in found["decisions"]] == [("prod", True)]


def test_model_lineage_takes_a_bare_version_and_follows_its_own_datasets(db):
    found = model_lineage(db, "v0.0.2")
    assert [d["md5"] for d in found["datasets"]] == ["p1" * 16, "s2" * 16]
    assert found["generators"] == [{"name": "gen-b", "images": 1}, {"name": "gen-c", "images": 1}]
    assert [(d["promoted"], d["baseline_version"]) for d in found["decisions"]] == [(False, "v0.0.1")]


@pytest.mark.parametrize("version", ["v9.9.9", "other@v0.0.1"])
def test_unknown_model_version_names_it_and_lists_the_known_ones(db, version):
    with pytest.raises(LineageNotFound) as error:
        model_lineage(db, version)
    assert version.split("@")[-1] in str(error.value)
    assert f"{MODEL}@v0.0.1, {MODEL}@v0.0.2" in str(error.value)


def test_unknown_model_on_an_empty_catalog_says_none_is_registered(tmp_path):
    with Catalog(tmp_path / "empty.duckdb"):
        pass
    with pytest.raises(LineageNotFound, match="no model is registered yet"):
        model_lineage(tmp_path / "empty.duckdb", "v0.0.1")


def test_image_lineage_of_a_tile(db):
    found = image_lineage(db, SHA["tile1"])
    assert found["image"]["kind"] == "real" and found["image"]["parent_sha256"] == SHA["photo"]
    assert _names(found["ancestors"]) == ["photo"]
    assert sorted((d["depth"], n) for d, n in zip(found["descendants"], _names(found["descendants"]))) == [(1, "jpeg1"), (1, "recon1")]
    assert sorted((d["md5"], n) for d, n in zip(found["datasets"], _names(found["datasets"]))) == [
        ("p1" * 16, "jpeg1"), ("p1" * 16, "recon1"), ("p1" * 16, "tile1"), ("s1" * 16, "recon1"),
    ]  # fmt: skip
    assert [m["version"] for m in found["models"]] == ["v0.0.1", "v0.0.2"]


def test_image_lineage_of_a_generated_image_walks_all_levels_down(db):
    found = image_lineage(db, SHA["a1"])
    assert found["ancestors"] == []
    assert [(d["depth"], n) for d, n in zip(found["descendants"], _names(found["descendants"]))] == sorted(
        [(1, "ra1"), (1, "jpeg_a1"), (2, "jpeg_ra1")], key=lambda pair: (pair[0], SHA[pair[1]])
    )
    assert {(d["name"], d["split"], d["label"]) for d in found["datasets"]} == {("semantic", "train", "fake")}
    assert sorted(_names(found["datasets"])) == ["jpeg_a1", "jpeg_ra1"]
    assert [m["version"] for m in found["models"]] == ["v0.0.1"]


def test_image_lineage_ancestors_are_nearest_first(db):
    found = image_lineage(db, SHA["jpeg_ra1"])
    assert [(a["depth"], n) for a, n in zip(found["ancestors"], _names(found["ancestors"]))] == [(1, "ra1"), (2, "a1")]
    assert found["descendants"] == []


def test_image_outside_every_dataset_has_no_datasets_or_models(db):
    found = image_lineage(db, SHA["d1"])
    assert found["datasets"] == [] and found["models"] == []


def test_image_found_by_a_unique_prefix_in_any_case(db):
    assert image_lineage(db, SHA["b1"][:9].upper())["image"]["sha256"] == SHA["b1"]
    assert image_lineage(db, SHA["tile2"][:8])["image"]["sha256"] == SHA["tile2"]


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("deadbeef", LineageAmbiguous, "matches several images"),
        ("0123456789abcdef", LineageNotFound, "no image with sha256 '0123456789abcdef'"),
        ("abc123", LineageNotFound, "8 to 64 hex digits"),
        ("not-a-hash-at-all", LineageNotFound, "'not-a-hash-at-all' is not a sha256"),
    ],
)
def test_image_key_errors_name_the_key(db, key, error, message):
    with pytest.raises(error, match=message):
        image_lineage(db, key)


def test_generator_lineage_counts_distinct_images_per_dataset_version(db):
    found = generator_lineage(db, "gen-a")
    assert found["generator"]["model"] == "models/gen-a"
    assert found["images"] == 2 and sorted(found["examples"]) == sorted([SHA["a1"], SHA["a2"]])
    assert found["first_created_at"] == _at(7) and found["last_created_at"] == _at(8)
    assert [(d["name"], d["md5"], d["images"], d["members"]) for d in found["datasets"]] == [("semantic", "s1" * 16, 2, 3)]
    assert [m["version"] for m in found["models"]] == ["v0.0.1"]


def test_generator_lineage_across_versions(db):
    found = generator_lineage(db, "gen-b")
    assert [(d["md5"], d["images"]) for d in found["datasets"]] == [("s1" * 16, 1), ("s2" * 16, 1)]
    assert [m["version"] for m in found["models"]] == ["v0.0.1", "v0.0.2"]


def test_registered_generator_without_images(db):
    found = generator_lineage(db, "gen-e")
    assert found["generator"]["name"] == "gen-e"
    assert (found["images"], found["examples"], found["datasets"], found["models"]) == (0, [], [], [])


def test_unknown_generator_lists_the_known_ones(db):
    with pytest.raises(LineageNotFound, match="no generator 'gen-z'.*known: gen-a, gen-b, gen-c, gen-d, gen-e"):
        generator_lineage(db, "gen-z")


# What the merge derives: (md5, generator, distinct generated images, members) per version.
DATASET_GENERATORS = [
    ("p1" * 16, None, 0, 5),
    ("s1" * 16, None, 0, 1), ("s1" * 16, "gen-a", 2, 3), ("s1" * 16, "gen-b", 1, 1),
    ("s2" * 16, None, 0, 1), ("s2" * 16, "gen-b", 1, 1), ("s2" * 16, "gen-c", 1, 1),
]  # fmt: skip


def _dataset_generators(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT dataset_md5, generator, images, members FROM dataset_generators ORDER BY ALL NULLS FIRST"
        ).fetchall()


def _merge(db: Path, staging: Path) -> dict[str, int]:
    with Catalog(db) as catalog:
        return catalog.merge_staging(staging)


def test_merge_fills_dataset_generators_once(tmp_path):
    db = build_lineage_catalog(tmp_path / "catalog.duckdb")
    assert _dataset_generators(db) == DATASET_GENERATORS
    stage_lineage_records(tmp_path / "staging")
    _merge(db, tmp_path / "staging")  # the same shards again
    _merge(db, tmp_path / "staging")  # nothing staged
    assert _dataset_generators(db) == DATASET_GENERATORS


@pytest.mark.parametrize("older", ["DROP TABLE dataset_generators", "DELETE FROM dataset_generators"])
def test_catalog_from_before_the_derived_table_answers_the_same_and_is_filled_at_the_next_merge(db, tmp_path, older):
    old = build_lineage_catalog(tmp_path / "catalog.duckdb")
    with duckdb.connect(str(old)) as con:
        con.execute(older)
    for query in (lambda at: model_lineage(at, "v0.0.1"), lambda at: model_lineage(at, "v0.0.2"),
                  lambda at: generator_lineage(at, "gen-a"), lambda at: generator_lineage(at, "gen-b")):  # fmt: skip
        assert query(old) == query(db)
    _merge(old, tmp_path / "nothing-staged")
    assert _dataset_generators(old) == DATASET_GENERATORS


def test_catalog_from_before_the_dirty_flag_takes_new_models_and_reads_old_ones_as_unknown(tmp_path):
    old = build_lineage_catalog(tmp_path / "catalog.duckdb")
    with duckdb.connect(str(old)) as con:
        for index in ("models_pixel_dataset", "models_semantic_dataset"):  # DuckDB alters no table an index depends on
            con.execute(f"DROP INDEX {index}")
        con.execute("ALTER TABLE models DROP COLUMN git_dirty")
    write_shard(tmp_path / "staging", "models", [_model(3, "v0.0.3", "p1" * 16, "s2" * 16, "cs2" * 20)])
    _merge(old, tmp_path / "staging")
    assert [model_lineage(old, v)["model"]["git_dirty"] for v in ("v0.0.1", "v0.0.3")] == [None, False]


def test_a_generator_reaching_both_datasets_of_a_model_counts_each_image_once(tmp_path):
    db = build_lineage_catalog(tmp_path / "catalog.duckdb")
    # Against the pipeline's rule (a pixel dataset holds no generated image): b1 reaches s1 and s2.
    write_shard(tmp_path / "staging", "models", [_model(3, "v0.0.3", "s1" * 16, "s2" * 16, "cs2" * 20)])
    _merge(db, tmp_path / "staging")
    assert model_lineage(db, "v0.0.3")["generators"] == [
        {"name": "gen-a", "images": 2}, {"name": "gen-b", "images": 1}, {"name": "gen-c", "images": 1},
    ]  # fmt: skip


def test_lineage_holds_no_lock_after_returning_and_waits_for_a_writer(tmp_path, monkeypatch):
    db = build_lineage_catalog(tmp_path / "catalog.duckdb")
    model_lineage(db, "v0.0.1")
    monkeypatch.setattr(catalog_db, "LOCK_WAIT_S", 0.3)
    with Catalog(db):
        with pytest.raises(CatalogBusy, match="in use"):
            image_lineage(db, SHA["a1"])
    assert image_lineage(db, SHA["a1"])["image"]["generator"] == "gen-a"
