"""Which untouched images the fused detector is evaluated on.

The detector meets raw images, so it is evaluated on raw images, never on the datasets'
reconstructions: real tiles and generated images as the ingest and generate stages stored
them. Splits follow the datasets' own plan (`plan_splits` over the same stage manifests,
seed and fractions), so no image of a group the branches trained on is evaluated:
- `val`: real tiles and generated images of validation groups (the fusion is fitted here);
- `test`: real tiles and generated images of test groups;
- `heldout`: every image of the held-out generators (leave-one-generator-out), paired
  with the reals of `test` by the evaluation.
Whole photos are left out: their tiles stand for them, at the size the pixel branch saw."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aligngemini.config import DatasetsConfig
from aligngemini.datasets.splits import group_of, index_rows, plan_splits

EVALUATED_SPLITS = ("val", "test", "heldout")


@dataclass(frozen=True)
class EvalImage:
    sha256: str
    path: str  # project-relative, inside the data root
    label: str  # "real" or "fake"
    split: str  # one of EVALUATED_SPLITS
    generator: str | None


def evaluation_images(real_rows: Iterable[Mapping], generated_rows: Iterable[Mapping], config: DatasetsConfig) -> list[EvalImage]:
    """The evaluated images of the stage manifests' rows, sorted by (split, label, sha256)."""
    rows = [*real_rows, *generated_rows]
    plan = plan_splits(rows, config.split_fractions, config.seed, config.heldout_generators)
    index = index_rows(rows)
    chosen = []
    for row in rows:
        is_tile = row["kind"] == "real" and row["parent_sha256"] is not None
        if not (is_tile or row["kind"] == "generated"):
            continue
        split = plan[group_of(row, index, config.heldout_generators)]
        if split in EVALUATED_SPLITS:
            label = "real" if is_tile else "fake"
            chosen.append(EvalImage(row["sha256"], row["path"], label, split, row["generator"] if label == "fake" else None))
    return sorted(chosen, key=lambda image: (image.split, image.label, image.sha256))
