"""Prefect wrapper of one reconstruction batch (images first, then their shard)."""

from __future__ import annotations

import torch
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.shards import write_shard
from aligngemini.project import Project
from aligngemini.reconstruction.jobs import ReconJob, reconstruct_jobs
from aligngemini.reconstruction.vae import load_reconstructor
from tasks.runtime import current_flow_run_id, now_iso


@task(name="reconstruct-batch", cache_policy=NO_CACHE)
def reconstruct_batch_task(project: Project, jobs: list[ReconJob]) -> int:
    cfg = project.params.reconstruction
    torch.set_num_threads(cfg.threads)
    entry = cfg.reconstructor(jobs[0].reconstructor)
    vae = load_reconstructor(entry, project.root, device=cfg.device, dtype=cfg.dtype)
    records = reconstruct_jobs(
        vae, jobs, project.load_image, project.store("reconstruction"), cfg.seed, cfg.batch_size,
        created_at=now_iso(), flow_run_id=current_flow_run_id(),
    )
    write_shard(project.staging, "images", [r.to_row() for r in records])
    get_run_logger().info("%s reconstructed %d images at %dx%d", entry.name, len(records), *jobs[0].size)
    return len(records)
