"""The shortcut check of the pixel dataset: each simple statistic on known inputs, and tiny
pixel datasets of photo crops whose fakes differ in one simple way (blur, colour cast) fail
through Great Expectations on the statistic that gives them away, while fakes carrying only
faint noise pass."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from aligngemini.config import ImageLimits
from aligngemini.datasets.schema import COLUMNS, SPLITS
from aligngemini.datasets.shortcuts import STATISTICS, ShortcutPolicy, image_statistics, sample_pairs, shortcut_table
from aligngemini.datasets.validation import ValidationPolicy, build_data_docs, validate_manifest
from aligngemini.errors import NotAnImageError
from aligngemini.images.loader import load_image
from aligngemini.paths import resolve_inside
from aligngemini.project import Project

LIMITS = ImageLimits(max_pixels=40_000_000, max_bytes=52_428_800, min_side=16, animated="refuse")
MARGIN = 0.1
Fake = Callable[[Image.Image], Image.Image]


def _photo(name: str) -> Image.Image:
    with Image.open(files("skimage") / "data" / name) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def crops() -> list[Image.Image]:
    """64 px crops of three lossless skimage photos (the reals)."""
    tiles = []
    for name in ("astronaut.png", "coffee.png", "chelsea.png"):
        photo = _photo(name)
        tiles += [photo.crop((x, y, x + 64, y + 64))
                  for y in range(0, photo.height - 64, 96) for x in range(0, photo.width - 64, 96)]
    return tiles


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


def _shifted(image: Image.Image, offset: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(_pixels(image) + offset), 0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def _faint_noise(seed: int) -> Fake:
    rng = np.random.default_rng(seed)
    return lambda image: _shifted(image, rng.normal(0, 0.5, (image.height, image.width, 3)))


FAKES: dict[str, Fake] = {
    "blurred": lambda image: image.filter(ImageFilter.GaussianBlur(1)),
    "colour_cast": lambda image: _shifted(image, np.array([40.0, 0.0, -40.0])),
    "faint_noise": _faint_noise(0),
}


def _write(root: Path, image: Image.Image) -> tuple[str, str]:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    sha = hashlib.sha256(buffer.getvalue()).hexdigest()
    path = f"data/pixel/{sha[:2]}/{sha}.png"
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(buffer.getvalue())
    return sha, path


def _pixel_dataset(root: Path, reals: list[Image.Image], fake: Fake) -> pd.DataFrame:
    """A pixel manifest whose every other rule holds: one pair per real, spread over the splits."""
    rows = []
    for index, real in enumerate(reals):
        split, real_sha = SPLITS[index % len(SPLITS)], None
        for label, image in (("real", real), ("fake", fake(real))):
            sha, path = _write(root, image)
            real_sha = real_sha or sha
            rows.append({"sha256": sha, "path": path, "label": label, "dataset": "pixel", "split": split,
                         "group": f"g{index}", "generator": None if label == "real" else "vae-a",
                         "pair_id": real_sha, "transform": None, "width": image.width, "height": image.height})
    return pd.DataFrame(rows, columns=COLUMNS).astype({"width": "int32", "height": "int32"})


def _shortcut_policy(root: Path, **changes) -> ShortcutPolicy:
    def load(path: str) -> Image.Image:
        return load_image(resolve_inside(root / "data", path, base=root), LIMITS).image

    settings = {"margin": MARGIN, "max_pairs": None, "splits": frozenset(SPLITS), "seed": 0, **changes}
    return ShortcutPolicy(load=load, **settings)


def _policy(root: Path) -> ValidationPolicy:
    return ValidationPolicy(
        allowed_generators=frozenset({"vae-a"}), balance_tolerance=0.05, min_side=16, max_side=4096,
        project_root=root, data_root=Path("data"), shortcuts=_shortcut_policy(root),
    )


@pytest.fixture(scope="module")
def datasets(crops, tmp_path_factory) -> dict[str, tuple[pd.DataFrame, ValidationPolicy]]:
    """Each kind of fake's manifest and the policy of its project root."""
    built = {}
    for kind, fake in FAKES.items():
        root = tmp_path_factory.mktemp(kind)
        built[kind] = (_pixel_dataset(root, crops, fake), _policy(root))
    return built


def _failing_statistics(report) -> set[str]:
    return {example["statistic"] for failure in report.failures if failure["check"] == "no_shortcut"
            for example in failure["examples"]}


def test_blurred_fakes_fail_on_sharpness(datasets):
    report = validate_manifest(*datasets["blurred"])
    assert not report.success
    assert "sharpness" in _failing_statistics(report)
    assert report.shortcuts["sharpness"]["auroc"] < 0.5 - MARGIN  # blurred fakes are less sharp
    assert report.shortcuts["sharpness"]["fake_mean"] < report.shortcuts["sharpness"]["real_mean"]
    rendered = report.render()
    assert "- no_shortcut: expect_column_values_to_be_between on shortcuts, column separability" in rendered
    assert '"statistic": "sharpness", "auroc": ' in rendered


def test_colour_cast_fails_on_the_channel_means(datasets):
    report = validate_manifest(*datasets["colour_cast"])
    assert not report.success
    assert {"mean_red", "mean_blue"} <= _failing_statistics(report)
    assert "mean_green" not in _failing_statistics(report)
    assert [failure["check"] for failure in report.failures] == ["no_shortcut"]


def test_faint_noise_passes_every_statistic(datasets, crops, tmp_path):
    report = validate_manifest(*datasets["faint_noise"])
    assert report.success, report.render()
    assert set(report.shortcuts) == set(STATISTICS.names())
    for name, row in report.shortcuts.items():
        assert abs(row["auroc"] - 0.5) <= MARGIN, name
        assert row["separability"] == max(row["auroc"], 1 - row["auroc"])
        assert row["pairs"] == len(crops)
    as_json = report.to_json_dict()
    assert json.loads(json.dumps(as_json)) == as_json and as_json["shortcuts"] == report.shortcuts
    html = build_data_docs(tmp_path / "docs").read_text()
    assert "pixel.shortcuts" in html


def test_the_check_is_left_out_without_its_policy(datasets):
    manifest, policy = datasets["blurred"]
    report = validate_manifest(manifest, dataclasses.replace(policy, shortcuts=None))
    assert report.success and report.shortcuts is None


def test_sample_is_seeded_capped_and_of_complete_pairs_in_the_chosen_splits(datasets):
    manifest, policy = datasets["faint_noise"]
    manifest = manifest.drop(index=manifest.index[manifest["label"] == "fake"][0])  # pair 0 is now incomplete
    capped = _shortcut_policy(policy.project_root, max_pairs=5, splits=frozenset({"train", "val"}), seed=3)
    sample = sample_pairs(manifest, capped)
    assert sample.equals(sample_pairs(manifest, capped))
    assert sample.groupby("pair_id")["label"].agg(sorted).tolist() == [["fake", "real"]] * 5
    assert set(sample["split"]) <= {"train", "val"} and manifest.loc[0, "pair_id"] not in set(sample["pair_id"])
    other = sample_pairs(manifest, _shortcut_policy(policy.project_root, max_pairs=5, splits=capped.splits, seed=4))
    assert set(other["pair_id"]) != set(sample["pair_id"])


def test_a_pair_that_cannot_be_read_is_left_out(datasets):
    manifest, policy = datasets["faint_noise"]
    unreadable = manifest.loc[1, "path"]

    def load(path: str) -> Image.Image:
        if path == unreadable:
            raise NotAnImageError(path, "corrupt")
        return policy.shortcuts.load(path)

    values = image_statistics(manifest, load)
    assert len(values) == len(manifest) - 2 and manifest.loc[1, "pair_id"] not in set(values["pair_id"])
    assert shortcut_table(values)["pairs"].eq(len(manifest) // 2 - 1).all()
    assert shortcut_table(values.iloc[:0]).empty


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return _pixels(_photo("astronaut.png").crop((128, 64, 256, 192)))


def test_sharpness_channel_means_and_saturation_on_known_images():
    checkerboard = np.repeat((np.indices((16, 16)).sum(axis=0) % 2 * 255.0)[..., None], 3, axis=2)
    assert STATISTICS.get("sharpness")(checkerboard) == pytest.approx(4 * 255)
    flat = np.broadcast_to(np.array([10.0, 20.0, 30.0]), (16, 16, 3))
    assert STATISTICS.get("sharpness")(flat) == 0
    assert [STATISTICS.get(f"mean_{c}")(flat) for c in ("red", "green", "blue")] == [10, 20, 30]
    assert STATISTICS.get("saturation")(flat) == pytest.approx(2 / 3)
    assert STATISTICS.get("saturation")(np.zeros((16, 16, 3))) == 0


def test_jpeg_grid_energy_is_higher_after_strong_jpeg(photo):
    energy = STATISTICS.get("jpeg_grid_energy")
    png = energy(photo)
    assert png == pytest.approx(1, abs=0.1)
    assert energy(_pixels(_jpeg(Image.fromarray(photo.astype(np.uint8)), 30))) > png + 0.2


def test_spectrum_slope_is_steeper_for_a_blurred_image(photo):
    slope = STATISTICS.get("spectrum_slope")
    blurred = _pixels(Image.fromarray(photo.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)))
    assert slope(blurred) < slope(photo) - 2


def test_the_validate_flow_checks_the_pixel_pairs_only(new_project):
    from flows.validate import _policy as flow_policy

    project = Project.load(new_project())
    pixel = flow_policy(project, "pixel").shortcuts
    assert pixel.margin == project.params.validation.shortcut_margin
    assert pixel.max_pairs == project.params.validation.shortcut_max_pairs
    assert flow_policy(project, "semantic").shortcuts is None


def test_a_non_blocking_check_reports_the_shortcut_but_passes_the_dataset(datasets):
    manifest, policy = datasets["blurred"]
    report = validate_manifest(manifest, dataclasses.replace(policy, shortcuts=dataclasses.replace(policy.shortcuts, blocking=False)))
    assert report.success
    assert [f["check"] for f in report.failures] == ["no_shortcut"]
    assert report.shortcuts["sharpness"]["separability"] > policy.shortcuts.max_separability
