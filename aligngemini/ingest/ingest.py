"""Ingest one real photo: decode it defensively, store it and its tiles, and describe
them as catalog records. A bad file becomes a quarantine record, never an exception.

Tiles whose pixels equal an image already recorded for the same file (the photo itself
when it is exactly one tile, or repeated flat tiles such as black sky) are stored once
and recorded once, at their first position, so the records of a file have unique sha256s.
Identical content across different files is left to the catalog merge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aligngemini.catalog.records import ImageRecord, QuarantineRecord
from aligngemini.config import ImageLimits
from aligngemini.errors import FileProblem
from aligngemini.images.loader import load_image
from aligngemini.images.store import ImageStore
from aligngemini.ingest.sources import SourceFile
from aligngemini.ingest.tiling import tile_boxes


@dataclass
class IngestResult:
    records: list[ImageRecord]  # the photo first, then its tiles in row-major order
    quarantine: QuarantineRecord | None


def ingest_file(
    file: SourceFile,
    source_name: str,
    store: ImageStore,
    limits: ImageLimits,
    tile_size: int,
    stride: int,
    created_at: str,
    flow_run_id: str | None,
) -> IngestResult:
    """Store the whole photo (transform None) and every full tile of it (parent = the
    photo, transform `tile(x=..,y=..,size=..)`). Only `FileProblem`s are caught: a full
    disk or a bug still stops the run."""
    try:
        loaded = load_image(file.path, limits)
    except FileProblem as err:
        quarantine = QuarantineRecord(str(file.path), err.reason, str(err), created_at, flow_run_id)
        return IngestResult([], quarantine)

    photo = store.put(loaded.image)
    photo_record = ImageRecord(
        sha256=photo.sha256,
        path=photo.path,
        kind="real",
        source=source_name,
        parent_sha256=None,
        generator=None,
        prompt=None,
        seed=None,
        width=photo.width,
        height=photo.height,
        transform=None,
        source_format=loaded.source_format,
        jpeg_quality=loaded.jpeg_quality,
        created_at=created_at,
        flow_run_id=flow_run_id,
    )
    records = {photo.sha256: photo_record}
    for x, y in tile_boxes(loaded.width, loaded.height, tile_size, stride):
        tile = store.put(loaded.image.crop((x, y, x + tile_size, y + tile_size)))
        if tile.sha256 not in records:
            records[tile.sha256] = replace(
                photo_record,
                sha256=tile.sha256,
                path=tile.path,
                width=tile.width,
                height=tile.height,
                parent_sha256=photo.sha256,
                transform=f"tile(x={x},y={y},size={tile_size})",
            )
    return IngestResult(list(records.values()), None)
