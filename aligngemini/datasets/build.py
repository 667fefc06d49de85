"""What every dataset builder shares: its inputs and result, the registry of builders, the
assembly of manifest rows and derived images, and the manifest writer.

A dataset is data: a name registered in `DATASET_BUILDERS` ("pixel", "semantic") whose
builder turns the stage manifests and the split plan into manifest rows (columns of
`schema.MANIFEST_SCHEMA`) and the catalog records of the images it derived.

A sample is either a stage image used as it is (its own sha256 and path, transform null)
or an image derived from one (JPEG, resampling) and put into the dataset's store. The
derived image's catalog record has the kind, source, generator, prompt and seed of the
image it came from, that image as `parent_sha256`, the applied `transform`, and no
`source_format`/`jpeg_quality` (it was never a file of its own; `transform` says how it
was compressed).

Determinism: builders iterate in sha256 order and draw per sample (`align.sample_rng`),
and the store's PNG encoding is deterministic, so the same inputs give the same images and
byte-identical manifests, whatever the order of the input rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from PIL import Image

from aligngemini.catalog.records import ImageRecord
from aligngemini.config import DatasetsConfig
from aligngemini.datasets.schema import COLUMNS, MANIFEST_SCHEMA
from aligngemini.images.store import ImageStore, StoredImage
from aligngemini.manifest import write_parquet_atomic
from aligngemini.registry import Registry

Loader = Callable[[Mapping], Image.Image]  # a stage-manifest row -> its pixels (RGB)
Derived = tuple[Image.Image, str]  # an image derived from a sample's source, and how


@dataclass(frozen=True)
class DatasetBuild:
    """A built dataset: manifest rows sorted by sha256, and the catalog records of the images
    derived for it (sorted by sha256, one per image)."""

    rows: list[dict]
    new_records: list[ImageRecord]


@dataclass(frozen=True)
class DatasetInputs:
    """What the registered builders read: the stage manifests' rows and the split plan
    (`splits.plan_splits`, group -> split)."""

    real_rows: Sequence[Mapping]
    generated_rows: Sequence[Mapping]
    recon_rows: Sequence[Mapping]
    splits: Mapping[str, str]


class DatasetBuilder(Protocol):
    def __call__(
        self,
        inputs: DatasetInputs,
        config: DatasetsConfig,
        store: ImageStore,
        load: Loader,
        *,
        created_at: str,
        flow_run_id: str | None,
    ) -> DatasetBuild: ...


DATASET_BUILDERS: Registry[DatasetBuilder] = Registry("dataset")


class DatasetAssembly:
    """Collects the samples of one dataset: their manifest rows, and the records of the
    images derived for them."""

    def __init__(self, dataset: str, store: ImageStore, created_at: str, flow_run_id: str | None):
        self.dataset = dataset
        self.store = store
        self.created_at = created_at
        self.flow_run_id = flow_run_id
        self._rows: dict[str, dict] = {}
        self._records: dict[str, ImageRecord] = {}

    def add(
        self,
        source: Mapping,
        derived: Derived | None,
        *,
        label: str,
        split: str,
        group: str,
        generator: str | None,
        pair_id: str | None,
    ) -> None:
        """Add a sample: the stage image `source` itself, or the `derived` image made from it
        (stored now, and recorded)."""
        if derived is None:
            sha, path, width, height = source["sha256"], source["path"], source["width"], source["height"]
            transform = None
        else:
            image, transform = derived
            stored = self.store.put(image)
            sha, path, width, height = stored.sha256, stored.path, stored.width, stored.height
            self._records.setdefault(sha, self._derived_record(source, stored, transform))
        if sha in self._rows:
            raise ValueError(f"image {sha} would be listed twice in the {self.dataset} dataset")
        self._rows[sha] = {
            "sha256": sha, "path": path, "label": label, "dataset": self.dataset, "split": split,
            "group": group, "generator": generator, "pair_id": pair_id, "transform": transform,
            "width": int(width), "height": int(height),
        }  # fmt: skip

    def result(self) -> DatasetBuild:
        return DatasetBuild(
            rows=[self._rows[sha] for sha in sorted(self._rows)],
            new_records=[self._records[sha] for sha in sorted(self._records)],
        )

    def _derived_record(self, source: Mapping, stored: StoredImage, transform: str) -> ImageRecord:
        return ImageRecord(
            sha256=stored.sha256, path=stored.path, kind=source["kind"], source=source["source"],
            parent_sha256=source["sha256"], generator=source["generator"], prompt=source["prompt"],
            seed=source["seed"], width=stored.width, height=stored.height, transform=transform,
            source_format=None, jpeg_quality=None,
            created_at=self.created_at, flow_run_id=self.flow_run_id,
        )  # fmt: skip


def write_dataset_manifest(rows: Sequence[Mapping], path: Path) -> int:
    """Write `rows` (schema columns, sorted by sha256) as Parquet, atomically (temp file
    beside `path`, then rename); returns the number of rows."""
    ordered = sorted(({column: row[column] for column in COLUMNS} for row in rows), key=lambda row: row["sha256"])
    write_parquet_atomic(pa.Table.from_pylist(ordered, schema=MANIFEST_SCHEMA), Path(path))
    return len(ordered)


# The builders register themselves when imported; importing them here completes the
# registry for whoever imports it (they only need the names defined above).
from aligngemini.datasets import pixel, semantic  # noqa: E402, F401
