"""Groups and split assignment: deterministic, order-independent, every split served, and
the group rules that keep a photo's tiles and reconstructions (and a prompt's images)
together."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest

from aligngemini.datasets.splits import assign_splits, group_of, index_rows, plan_splits

FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def _row(sha: str, kind: str, parent: str | None = None, generator: str | None = None, prompt: str | None = None):
    return {"sha256": sha, "kind": kind, "parent_sha256": parent, "generator": generator, "prompt": prompt}


def _prompt_group(prompt: str) -> str:
    return "prompt:" + hashlib.sha256(prompt.encode()).hexdigest()[:16]


# A photo with two tiles, a reconstruction of a tile and one of that reconstruction; two
# generators drawing one prompt, a held-out one drawing the same prompt, an unconditional one.
ROWS = [
    _row("photo", "real"),
    _row("tile1", "real", parent="photo"),
    _row("tile2", "real", parent="photo"),
    _row("recon1", "reconstruction", parent="tile1"),
    _row("recon1b", "reconstruction", parent="recon1"),
    _row("gen-a", "generated", generator="a", prompt="a cat"),
    _row("gen-b", "generated", generator="b", prompt="a cat"),
    _row("gen-held", "generated", generator="held", prompt="a cat"),
    _row("gen-uncond", "generated", generator="ddpm", prompt=None),
    _row("recon-gen-a", "reconstruction", parent="gen-a"),
    _row("recon-gen-held", "reconstruction", parent="gen-held"),
]


def test_assign_splits_is_deterministic_order_independent_and_follows_fractions():
    groups = [f"g{i}" for i in range(100)]
    first = assign_splits(groups, FRACTIONS, seed=7)
    shuffled = random.Random(1).sample(groups, len(groups))
    assert assign_splits(shuffled, FRACTIONS, seed=7) == first
    assert Counter(first.values()) == {"train": 70, "val": 15, "test": 15}
    assert assign_splits(groups, FRACTIONS, seed=8) != first


@pytest.mark.parametrize(("n", "expected"), [(3, {"train": 1, "val": 1, "test": 1}),
                                             (4, {"train": 2, "val": 1, "test": 1}),
                                             (10, {"train": 7, "val": 2, "test": 1}),
                                             (2, {"train": 2}),  # fewer groups than splits: plain rounding
                                             (0, {})])  # fmt: skip
def test_every_split_gets_a_group_once_there_are_enough(n, expected):
    assert Counter(assign_splits([f"g{i}" for i in range(n)], FRACTIONS, seed=7).values()) == expected


def test_a_split_with_a_zero_fraction_gets_nothing():
    splits = assign_splits([f"g{i}" for i in range(5)], {"train": 0.5, "val": 0.5, "test": 0.0}, seed=7)
    assert "test" not in splits.values()


def test_adding_a_group_moves_few_others():
    groups = [f"g{i}" for i in range(100)]
    before = assign_splits(groups, FRACTIONS, seed=7)
    for extra in range(10):
        after = assign_splits([*groups, f"new{extra}"], FRACTIONS, seed=7)
        assert sum(before[group] != after[group] for group in groups) <= 2


def test_heldout_cannot_be_assigned_by_fraction():
    with pytest.raises(ValueError, match="heldout"):
        assign_splits(["g"], {"train": 0.5, "heldout": 0.5}, seed=7)


@pytest.mark.parametrize(
    ("sha", "group"),
    [
        ("photo", "photo:photo"),
        ("tile1", "photo:photo"),
        ("recon1", "photo:photo"),
        ("recon1b", "photo:photo"),
        ("gen-a", _prompt_group("a cat")),
        ("gen-b", _prompt_group("a cat")),
        ("recon-gen-a", _prompt_group("a cat")),
        ("gen-held", "generator:held"),
        ("recon-gen-held", "generator:held"),
        ("gen-uncond", "image:gen-uncond"),
    ],
)
def test_group_rules(sha, group):
    index = index_rows(ROWS)
    assert group_of(index[sha], index, {"held"}) == group


def test_a_tile_whose_photo_is_not_listed_still_joins_its_photo():
    tile = _row("tile1", "real", parent="photo")
    assert group_of(tile, index_rows([tile]), ()) == "photo:photo"


def test_a_reconstruction_of_an_unknown_image_has_no_group():
    orphan = _row("orphan", "reconstruction", parent="missing")
    with pytest.raises(ValueError, match="missing"):
        group_of(orphan, index_rows([orphan]), ())


def test_plan_splits_keeps_lineages_together_and_holds_out_generators():
    photos = [_row(f"photo{i}", "real") for i in range(6)]
    tiles = [_row(f"tile{i}", "real", parent=f"photo{i % 6}") for i in range(18)]
    generators = "ab" * 5 + "h" * 5
    generated = [_row(f"gen{i}", "generated", generator=g, prompt=f"p{i % 5}") for i, g in enumerate(generators)]
    plan = plan_splits([*photos, *tiles, *generated], FRACTIONS, seed=7, heldout_generators={"h"})
    index = index_rows(photos, tiles, generated)
    assert plan["generator:h"] == "heldout"
    for kind in ("photo", "prompt"):  # each kind is split on its own: every split gets photos and prompts
        assert {split for group, split in plan.items() if group.startswith(kind)} == {"train", "val", "test"}
    for tile in tiles:
        assert plan[group_of(tile, index, {"h"})] == plan[f"photo:{tile['parent_sha256']}"]
    assert plan_splits(reversed([*photos, *tiles, *generated]), FRACTIONS, seed=7, heldout_generators={"h"}) == plan
