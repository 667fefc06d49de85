"""One generation batch: run the pipeline, store the images, describe them as catalog records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from aligngemini.catalog.records import GeneratorRecord, ImageRecord
from aligngemini.config import GeneratorEntry
from aligngemini.generation.jobs import GenerationJob
from aligngemini.generation.pipelines import convention_of, load_pipeline, run_pipeline
from aligngemini.images.store import ImageStore


def generate_batch(
    entry: GeneratorEntry,
    jobs: Sequence[GenerationJob],
    store: ImageStore,
    project_root: Path,
    batch_size: int,
    device: str,
    created_at: str,
    flow_run_id: str | None,
) -> list[ImageRecord]:
    if any(job.generator != entry.name for job in jobs):
        raise ValueError(f"batch mixes generators; expected only '{entry.name}'")
    pipe = load_pipeline(entry, project_root, device)
    images = run_pipeline(pipe, entry, [j.prompt for j in jobs], [j.seed for j in jobs], batch_size)
    records = []
    for job, image in zip(jobs, images, strict=True):
        stored = store.put(image.convert("RGB"))
        records.append(
            ImageRecord(
                sha256=stored.sha256, path=stored.path, kind="generated", source=entry.name,
                parent_sha256=None, generator=entry.name, prompt=job.prompt, seed=job.seed,
                width=stored.width, height=stored.height, transform=None, source_format=None,
                jpeg_quality=None, created_at=created_at, flow_run_id=flow_run_id,
            )
        )
    return records


def config_hash(entry: GeneratorEntry) -> str:
    # an unpinned entry hashes as it did before entries had a revision: the same configuration
    dumped = entry.model_dump(exclude={"revision"} if entry.revision is None else None)
    return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()


def generator_record(entry: GeneratorEntry, project_root: Path, device: str, registered_at: str) -> GeneratorRecord:
    pipe = load_pipeline(entry, project_root, device)
    return GeneratorRecord(
        name=entry.name, pipeline=type(pipe).__name__, model=entry.model, steps=entry.steps,
        guidance=entry.guidance, resolution=entry.resolution, seed=entry.seed,
        conditioning=convention_of(pipe, entry).conditioning, config_hash=config_hash(entry),
        registered_at=registered_at,
    )


def stored_keys(rows: Sequence[dict], store: ImageStore) -> dict[tuple[str, str, int], dict]:
    """Catalogued generated images whose file is really in the store, by job key. A row whose
    file is gone is not 'existing': its job is planned again and reproduces the same bytes."""
    return {(r["generator"], r["prompt"], r["seed"]): r for r in rows if store.contains(r["sha256"])}
