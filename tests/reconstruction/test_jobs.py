"""Who reconstructs what: one training reconstructor per tile, drawn so that an added
reconstructor takes only its share; held-out reconstructors on test tiles only."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from aligngemini.reconstruction.jobs import ReconPlan, batch_jobs, draw_reconstructor, plan_reconstructions


def _rows(kind: str, count: int, side: int) -> list[dict]:
    return [
        {"sha256": hashlib.sha256(f"{kind}{i}".encode()).hexdigest(), "path": f"data/{kind}{i}.png", "parent_sha256": "photo" if kind == "tile" else None,
         "width": side, "height": side}
        for i in range(count)
    ]  # fmt: skip


TILES, GENERATED = _rows("tile", 200, 128), _rows("gen", 10, 64)


def _plan(training=("a", "b", "c"), heldout=("h",), test=None) -> ReconPlan:
    test_tiles = frozenset(r["sha256"] for r in TILES[:20]) if test is None else test
    return ReconPlan(training=training, semantic="a", heldout=heldout, semantic_size=64, seed=21, test_tiles=test_tiles, dtype="float32")


def test_every_tile_gets_one_training_reconstructor_and_the_draw_is_spread():
    native = [j for j in plan_reconstructions(TILES, GENERATED, _plan()) if j.resize is None and j.reconstructor != "h"]
    assert sorted(j.parent_sha256 for j in native) == sorted(r["sha256"] for r in TILES)
    counts = Counter(j.reconstructor for j in native)
    assert set(counts) == {"a", "b", "c"} and min(counts.values()) > 40


def test_an_added_reconstructor_takes_tiles_only_from_the_others():
    before = {r["sha256"]: draw_reconstructor(21, r["sha256"], ["a", "b", "c"]) for r in TILES}
    after = {r["sha256"]: draw_reconstructor(21, r["sha256"], ["a", "b", "c", "d"]) for r in TILES}
    moved = [sha for sha in before if before[sha] != after[sha]]
    assert moved and all(after[sha] == "d" for sha in moved)
    assert 20 < len(moved) < 80  # about a quarter
    assert draw_reconstructor(21, TILES[0]["sha256"], ["c", "a", "b"]) == before[TILES[0]["sha256"]], "order of the list does not matter"


def test_heldout_reconstructors_reconstruct_the_test_tiles_only():
    plan = _plan()
    held = [j for j in plan_reconstructions(TILES, GENERATED, plan) if j.reconstructor == "h"]
    assert {j.parent_sha256 for j in held} == plan.test_tiles and all(j.resize is None for j in held)


def test_semantic_jobs_and_no_job_twice():
    jobs = plan_reconstructions(TILES, GENERATED, _plan())
    semantic = [j for j in jobs if j.resize == 64]
    assert {j.reconstructor for j in semantic} == {"a"} and len(semantic) == len(TILES) + len(GENERATED)
    assert len({j.key for j in jobs}) == len(jobs)
    # a 64 px generated image resized to 64 still names its transform, and is planned once
    assert all(j.transform == "resize(64)+vae(a)" for j in semantic)


def test_a_resize_to_the_tiles_own_size_is_one_job_for_both_datasets():
    # the full profile: 336 px tiles and semantic_size 336. Two jobs making the same bytes would
    # leave the catalog (one row per sha256) short of one planned key, and the flow raising
    tiles = _rows("tile", 60, 336)
    plan = ReconPlan(training=("a", "b"), semantic="a", heldout=(), semantic_size=336, seed=21, test_tiles=frozenset(), dtype="float32")
    jobs = plan_reconstructions(tiles, [], plan)
    outputs = Counter((j.parent_sha256, j.reconstructor, j.size) for j in jobs)
    assert max(outputs.values()) == 1
    by_tile = {r["sha256"]: sorted(j.transform for j in jobs if j.parent_sha256 == r["sha256"]) for r in tiles}
    drawn = {sha: draw_reconstructor(21, sha, ("a", "b")) for sha in by_tile}
    assert {"a", "b"} == set(drawn.values())
    for sha, transforms in by_tile.items():
        assert transforms == (["resize(336)+vae(a)"] if drawn[sha] == "a" else ["resize(336)+vae(a)", "vae(b)"])


def test_batches_hold_one_reconstructor_and_one_size():
    for batch in batch_jobs(plan_reconstructions(TILES, GENERATED, _plan()), 16):
        assert len(batch) <= 16 and len({(j.reconstructor, j.size) for j in batch}) == 1


def test_drawing_from_no_reconstructor_is_refused():
    with pytest.raises(ValueError, match="no training reconstructor"):
        draw_reconstructor(21, "x", [])
