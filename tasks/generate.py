"""Prefect wrappers of the generation library. No caching on purpose: what exists is decided
from the catalog and the store (content hashes), never from Prefect's result cache."""

from __future__ import annotations

import torch
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.shards import write_shard
from aligngemini.generation.jobs import GenerationJob
from aligngemini.generation.run import generate_batch
from aligngemini.project import Project
from tasks.runtime import current_flow_run_id, now_iso


@task(name="generate-batches", cache_policy=NO_CACHE)
def generate_batches_task(project: Project, batches: list[list[GenerationJob]]) -> int:
    """Per batch, images first, then their records as one shard: a kill in between leaves
    files that the next run reproduces byte for byte, never records that point at nothing."""
    params = project.params
    torch.set_num_threads(params.generation.threads)
    made = 0
    for jobs in batches:
        entry = params.generator(jobs[0].generator)
        records = generate_batch(
            entry, jobs, project.store("generated"), project.root, params.generation.batch_size, params.generation.device,
            created_at=now_iso(), flow_run_id=current_flow_run_id(),
        )
        write_shard(project.staging, "images", [r.to_row() for r in records])
        made += len(records)
    get_run_logger().info("%d images in %d batches (%s ...)", made, len(batches), batches[0][0].generator)
    return made
