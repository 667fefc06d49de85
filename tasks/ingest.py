"""Prefect wrapper of real-image ingestion: a chunk of files per task, records and
quarantine rows written as shards for the single catalog writer."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.shards import write_shard
from aligngemini.ingest.ingest import ingest_file
from aligngemini.ingest.sources import SourceFile
from aligngemini.project import Project
from tasks.runtime import current_flow_run_id, now_iso


@task(name="ingest-files", cache_policy=NO_CACHE)
def ingest_files_task(project: Project, source_name: str, files: list[SourceFile]) -> tuple[int, int]:
    params = project.params
    store = project.store("real")
    logger = get_run_logger()
    records, quarantined = [], []
    for file in files:
        result = ingest_file(
            file, source_name, store, params.images, params.ingest.tile_size, params.ingest.tile_stride,
            created_at=now_iso(), flow_run_id=current_flow_run_id(),
        )
        records += [r.to_row() for r in result.records]
        if result.quarantine is not None:
            logger.warning("quarantined %s", result.quarantine.detail)
            quarantined.append(result.quarantine.to_row())
    write_shard(project.staging, "images", records)
    write_shard(project.staging, "quarantine", quarantined)
    return len(records), len(quarantined)
