"""Which reconstructions the datasets and the evaluation need, and making one batch of them.

- Every real tile is reconstructed at native size by ONE training reconstructor, drawn per
  tile by rendezvous hashing (`draw_reconstructor`): its pixel-dataset partner. Adding a
  reconstructor moves only the tiles it now wins to it, so only those are reconstructed.
- Every real tile and every generated image is reconstructed by the semantic reconstructor
  after a resize to `semantic_size` (the semantic dataset's two sides), so both sides carry
  the same decoder traces and the same resize. Inputs are square (tiles and generated
  images are), so resizing keeps their aspect.
- The real tiles of the test split are reconstructed at native size by every held-out
  reconstructor: the leave-one-family-out evaluation's fakes, never trained on.
- A resize to the size a tile already has changes nothing (the full profile's 336 px tiles
  and `semantic_size` 336): its job and the tile's native job by the same reconstructor would
  make the same bytes, so the resized one stands for both and the pixel dataset accepts it
  as native (`datasets.pixel.native_reconstructions`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from aligngemini.catalog.records import ImageRecord
from aligngemini.config import Params
from aligngemini.datasets.align import reconstruction_transform, resize, seeded_key
from aligngemini.datasets.splits import group_of, index_rows, plan_splits
from aligngemini.images.store import ImageStore
from aligngemini.reconstruction.crop import crop_to_multiple
from aligngemini.reconstruction.vae import image_seed, reconstruct


@dataclass(frozen=True)
class ReconJob:
    parent_sha256: str
    parent_path: str
    size: tuple[int, int]  # input size after the crop rule / resize: batches share one size
    resize: int | None  # None: native size (after cropping to a multiple of 8)
    reconstructor: str
    dtype: str  # the precision it is made in: part of its identity (another dtype, other bytes)

    @property
    def transform(self) -> str:
        return reconstruction_transform(self.reconstructor, self.resize, self.dtype)

    @property
    def key(self) -> tuple[str, str]:
        return self.parent_sha256, self.transform


@dataclass(frozen=True)
class ReconPlan:
    """Who reconstructs what: the training reconstructors (drawn among per tile), the
    semantic one, the held-out ones, and the test split's tiles (`test_tiles`, by sha256)."""

    training: Sequence[str]
    semantic: str
    heldout: Sequence[str]
    semantic_size: int
    seed: int
    test_tiles: frozenset[str]
    dtype: str

    @classmethod
    def from_params(cls, params: Params, real_rows: Sequence[Mapping]) -> "ReconPlan":
        """The plan of `params`; the test tiles follow the datasets' own split plan (photos
        are divided on their own, so generated images never move them)."""
        cfg, datasets = params.reconstruction, params.datasets
        splits = plan_splits(real_rows, datasets.split_fractions, datasets.seed, datasets.heldout_generators)
        index = index_rows(real_rows)
        test_tiles = frozenset(r["sha256"] for r in real_rows if r["parent_sha256"] and splits[group_of(r, index, ())] == "test")
        return cls(
            training=params.training_reconstructors(), semantic=cfg.semantic_reconstructor, heldout=datasets.heldout_reconstructors,
            semantic_size=cfg.semantic_size, seed=cfg.seed, test_tiles=test_tiles, dtype=cfg.dtype,
        )  # fmt: skip


def draw_reconstructor(seed: int, tile_sha256: str, reconstructors: Sequence[str]) -> str:
    """The training reconstructor of one tile: the highest seeded hash of (tile, name), so
    the draw depends on the tile alone, and a new name takes tiles only from the others."""
    if not reconstructors:
        raise ValueError("no training reconstructor to draw from")
    return max(reconstructors, key=lambda name: (seeded_key(seed, "reconstructor", tile_sha256, name), name))


def native_size(row: Mapping) -> tuple[int, int]:
    """The input size of a native-size job: the image cropped to a multiple of 8."""
    return (row["width"] - row["width"] % 8, row["height"] - row["height"] % 8)


def plan_reconstructions(real_rows: Sequence[Mapping], generated_rows: Sequence[Mapping], plan: ReconPlan) -> list[ReconJob]:
    """Every reconstruction of the rules in the module docstring, each (parent,
    reconstructor, input size) once, in a fixed order."""
    tiles = sorted((r for r in real_rows if r["parent_sha256"]), key=lambda r: r["sha256"])
    generated = sorted(generated_rows, key=lambda r: r["sha256"])
    square, size = (plan.semantic_size, plan.semantic_size), plan.semantic_size
    dtype = plan.dtype
    jobs = (
        [ReconJob(r["sha256"], r["path"], native_size(r), None, draw_reconstructor(plan.seed, r["sha256"], plan.training), dtype) for r in tiles]
        + [ReconJob(r["sha256"], r["path"], square, size, plan.semantic, dtype) for r in [*tiles, *generated]]
        + [ReconJob(r["sha256"], r["path"], native_size(r), None, name, dtype) for name in plan.heldout for r in tiles if r["sha256"] in plan.test_tiles]
    )
    planned: dict[tuple[str, str, tuple[int, int]], ReconJob] = {}
    for job in jobs:
        same_output = (job.parent_sha256, job.reconstructor, job.size)
        if same_output not in planned or job.resize is not None:
            planned[same_output] = job
    return list(planned.values())


def batch_jobs(jobs: Sequence[ReconJob], batch_size: int) -> list[list[ReconJob]]:
    """Jobs grouped by (reconstructor, input size), `batch_size` at most per group."""
    groups: dict[tuple[str, tuple[int, int]], list[ReconJob]] = {}
    for job in jobs:
        groups.setdefault((job.reconstructor, job.size), []).append(job)
    return [group[i : i + batch_size] for group in groups.values() for i in range(0, len(group), batch_size)]


def reconstruct_jobs(
    vae,
    jobs: Sequence[ReconJob],
    load: Callable[[str], Image.Image],
    store: ImageStore,
    base_seed: int,
    batch_size: int,
    created_at: str,
    flow_run_id: str | None,
) -> list[ImageRecord]:
    """One batch (all jobs of one reconstructor and input size, `batch_jobs`). The latent
    sample's seed comes from the parent's content hash, so a resumed run reproduces a killed
    one byte for byte."""
    reconstructors = {job.reconstructor for job in jobs}
    if len(reconstructors) != 1:
        raise ValueError(f"one batch must have one reconstructor, got {sorted(reconstructors)}")
    inputs = []
    for job in jobs:
        image = crop_to_multiple(load(job.parent_path))
        inputs.append(resize(image, job.resize)[0] if job.resize else image)
    outputs = reconstruct(vae, inputs, [image_seed(base_seed, job.parent_sha256) for job in jobs], batch_size)
    records = []
    for job, output in zip(jobs, outputs, strict=True):
        stored = store.put(output)
        records.append(
            ImageRecord(
                sha256=stored.sha256, path=stored.path, kind="reconstruction", source=job.reconstructor,
                parent_sha256=job.parent_sha256, generator=None, prompt=None, seed=None,
                width=stored.width, height=stored.height, transform=job.transform,
                source_format=None, jpeg_quality=None, created_at=created_at, flow_run_id=flow_run_id,
            )
        )
    return records
