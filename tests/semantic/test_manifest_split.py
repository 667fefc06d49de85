"""Reading a split of the semantic manifest: lazily decoded images, bad files left out with
a per-file problem, paths confined to the data root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from aligngemini.config import ImageLimits
from aligngemini.errors import AlignGeminiError
from aligngemini.semantic.data import read_split

LIMITS = ImageLimits(max_pixels=40_000_000, max_bytes=52_428_800, min_side=16, animated="refuse")


def _row(name: str, label: str, split: str) -> dict:
    return {"sha256": name, "path": f"data/datasets/semantic/{name}.png", "label": label, "split": split}


def _project(root: Path, rows: list[dict]) -> Path:
    folder = root / "data" / "datasets" / "semantic"
    folder.mkdir(parents=True)
    for row in rows:
        if row["sha256"].startswith("good"):
            Image.fromarray(np.full((64, 64, 3), len(row["sha256"]), np.uint8)).save(root / row["path"])
    whole = (root / rows[0]["path"]).read_bytes()
    (folder / "corrupt.png").write_bytes(whole[: len(whole) // 2])
    manifest = folder / "manifest.parquet"
    pq.write_table(pa.Table.from_pylist(rows), manifest)
    return manifest


def test_reads_the_requested_splits_and_sets_bad_files_aside(tmp_path: Path) -> None:
    rows = [
        _row("good-a", "real", "train"), _row("good-bb", "fake", "train"), _row("good-ccc", "real", "val"),
        _row("missing", "fake", "train"), _row("corrupt", "real", "train"),
        {**_row("escape", "fake", "train"), "path": "data/../../outside.png"},
    ]  # fmt: skip
    root = tmp_path / "project"
    manifest = _project(root, rows)
    (tmp_path / "outside.png").write_bytes((root / rows[0]["path"]).read_bytes())
    images, problems = read_split(manifest, {"train"}, root / "data", root, LIMITS)
    assert [row["sha256"] for row in images.rows] == ["good-a", "good-bb"]
    assert len(images) == 2
    image, label = images[1]
    assert (image.size, image.mode, label) == ((64, 64), "RGB", "fake")
    assert sorted(problem.reason for problem in problems) == ["not_an_image", "path_outside_root", "truncated"]


def test_unknown_label_is_an_error(tmp_path: Path) -> None:
    manifest = _project(tmp_path, [_row("good-a", "real", "val"), _row("good-b", "synthetic", "val")])
    with pytest.raises(AlignGeminiError, match="label 'synthetic'"):
        read_split(manifest, {"val"}, tmp_path / "data", tmp_path, LIMITS)
