"""Which images the evaluation scores, the held-out families it builds, and how real and
fake are matched so the format tells nothing."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from aligngemini.datasets.align import reconstruction_transform
from aligngemini.evaluation.images import evaluation_images, matched

FRACTIONS = {"train": 0.5, "val": 0.25, "test": 0.25}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _row(name: str, kind: str, *, parent=None, generator=None, prompt=None, source="embedded", transform=None, fmt=None, quality=None, side=128) -> dict:
    return {
        "sha256": _sha(name), "path": f"data/{name}.png", "kind": kind, "parent_sha256": parent, "generator": generator,
        "prompt": prompt, "source": source, "transform": transform, "source_format": fmt, "jpeg_quality": quality,
        "width": side, "height": side,
    }  # fmt: skip


def _stage_rows():
    photos = [_row(f"photo{i}", "real", fmt="JPEG" if i % 2 else "PNG", quality=80 + i if i % 2 else None, side=512) for i in range(8)]
    tiles = [
        _row(f"tile{i}-{j}", "real", parent=photo["sha256"], fmt=photo["source_format"], quality=photo["jpeg_quality"])
        for i, photo in enumerate(photos) for j in range(2)
    ]  # fmt: skip
    generated = [_row(f"gen-{g}-{p}", "generated", generator=g, prompt=f"prompt {p}", source=g, side=64) for g in ("gen-a", "gen-h") for p in range(8)]
    recons = [
        _row(f"{name}-{tile['sha256'][:8]}", "reconstruction", parent=tile["sha256"], source=name, transform=reconstruction_transform(name, None))
        for tile in tiles for name in ("rec-train", "rec-held")
    ]  # fmt: skip
    return [*photos, *tiles], generated, recons


def _select(size=64):
    real, generated, recons = _stage_rows()
    return evaluation_images(
        real, generated, recons, split_fractions=FRACTIONS, seed=3, heldout_generators=["gen-h"], heldout_reconstructors=["rec-held"],
        families={"gen-h": "pixel-ddpm", "rec-held": "taesd"}, size=size,
    )  # fmt: skip


def test_heldout_families_pair_with_test_tiles_only():
    images = _select().images
    by_split = {split: [i for i in images if i.split == split] for split in ("val", "test", "heldout_generators", "heldout_reconstructors")}
    test_reals = {i.sha256 for i in by_split["test"] if i.label == "real"}
    real, _, recons = _stage_rows()
    parents = {r["sha256"]: r["parent_sha256"] for r in recons}
    held_recons = by_split["heldout_reconstructors"]
    assert held_recons and {parents[i.sha256] for i in held_recons} == test_reals
    assert {i.generator for i in held_recons} == {"rec-held"} and {i.family for i in held_recons} == {"taesd"}
    assert {i.generator for i in by_split["heldout_generators"]} == {"gen-h"} and len(by_split["heldout_generators"]) == 8
    assert all(i.generator != "rec-train" for i in images), "a training reconstructor's fakes are the pixel dataset's, not the evaluation's"
    assert {i.family for i in images if i.generator == "gen-a"} == {"gen-a"}, "a name without a family is its own family"
    assert not any(i.label == "real" and i.split.startswith("heldout") for i in images)


def test_fakes_take_their_partners_jpeg_history():
    real, _, recons = _stage_rows()
    quality = {r["sha256"]: r["jpeg_quality"] for r in real}
    parents = {r["sha256"]: r["parent_sha256"] for r in recons}
    images = _select().images
    for image in images:
        if image.split == "heldout_reconstructors":
            assert image.jpeg_quality == quality[parents[image.sha256]]  # its own tile is its partner
        if image.label == "real":
            assert image.jpeg_quality is None  # reals keep the history they have
    generated = [i for i in images if i.label == "fake" and i.split != "heldout_reconstructors"]
    assert {i.jpeg_quality is None for i in generated} == {True, False}, "partners of both formats are drawn"
    assert _select().images == images


def test_matching_crops_without_resampling_and_compresses_fakes():
    pixels = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    image = next(i for i in _select().images if i.jpeg_quality is not None)
    out = matched(image, Image.fromarray(pixels))
    assert out.size == (64, 64)
    plain = matched(image.__class__(**{**image.__dict__, "jpeg_quality": None}), Image.fromarray(pixels))
    assert np.array_equal(np.asarray(plain), pixels[32:96, 32:96]), "a centre crop on the 8 px grid, pixels untouched"
    assert not np.array_equal(np.asarray(out), np.asarray(plain))


def test_images_below_the_matching_size_are_left_out_and_counted():
    selection = _select(size=96)
    generated = [i for i in _select().images if i.label == "fake" and i.split != "heldout_reconstructors"]
    assert selection.too_small == len(generated) > 0  # every evaluated 64 px generated image
    assert all(i.label == "real" or i.split == "heldout_reconstructors" for i in selection.images)
    assert "96x96" in selection.matching_text()
