"""Which reconstructions the datasets need, and making one batch of them.

Every real tile is reconstructed twice: at native size (its pixel-dataset partner) and
resized to `semantic_size` (the semantic dataset's real side). Every generated image is
reconstructed once, resized the same way (the semantic dataset's fake side), so both sides
of the semantic dataset carry the same decoder traces and the same resize. Inputs are
square (tiles and generated images are), so resizing keeps their aspect."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from aligngemini.catalog.records import ImageRecord
from aligngemini.datasets.align import reconstruction_transform, resize
from aligngemini.images.store import ImageStore
from aligngemini.reconstruction.crop import crop_to_multiple
from aligngemini.reconstruction.vae import image_seed, reconstruct


@dataclass(frozen=True)
class ReconJob:
    parent_sha256: str
    parent_path: str
    size: tuple[int, int]  # input size after the crop rule / resize: batches share one size
    resize: int | None  # None: native size (after cropping to a multiple of 8)

    def transform(self, reconstructor: str) -> str:
        return reconstruction_transform(reconstructor, self.resize)


def _native_size(row: Mapping) -> tuple[int, int]:
    return (row["width"] - row["width"] % 8, row["height"] - row["height"] % 8)


def plan_reconstructions(real_rows: Sequence[Mapping], generated_rows: Sequence[Mapping], semantic_size: int) -> list[ReconJob]:
    tiles = sorted((r for r in real_rows if r["parent_sha256"]), key=lambda r: r["sha256"])
    generated = sorted(generated_rows, key=lambda r: r["sha256"])
    square = (semantic_size, semantic_size)
    return (
        [ReconJob(r["sha256"], r["path"], _native_size(r), None) for r in tiles]
        + [ReconJob(r["sha256"], r["path"], square, semantic_size) for r in tiles]
        + [ReconJob(r["sha256"], r["path"], square, semantic_size) for r in generated]
    )


def batch_by_size(jobs: Sequence[ReconJob], batch_size: int) -> list[list[ReconJob]]:
    by_size: dict[tuple[int, int], list[ReconJob]] = {}
    for job in jobs:
        by_size.setdefault(job.size, []).append(job)
    return [group[i : i + batch_size] for group in by_size.values() for i in range(0, len(group), batch_size)]


def reconstruct_jobs(
    vae,
    jobs: Sequence[ReconJob],
    load: Callable[[str], Image.Image],
    store: ImageStore,
    reconstructor: str,
    base_seed: int,
    batch_size: int,
    created_at: str,
    flow_run_id: str | None,
) -> list[ImageRecord]:
    """One batch (all jobs of one input size). The latent sample's seed comes from the
    parent's content hash, so a resumed run reproduces a killed one byte for byte."""
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
                sha256=stored.sha256, path=stored.path, kind="reconstruction", source=reconstructor,
                parent_sha256=job.parent_sha256, generator=None, prompt=None, seed=None,
                width=stored.width, height=stored.height, transform=job.transform(reconstructor),
                source_format=None, jpeg_quality=None, created_at=created_at, flow_run_id=flow_run_id,
            )
        )
    return records
