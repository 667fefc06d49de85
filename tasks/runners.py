"""Task runners are data: `generation.task_runner.kind` in params.yaml names a builder here.

Every runner runs the same tasks with the same results; they differ in where the tasks run.
Tasks set their own torch threads from params (`generation.threads`, `reconstruction.threads`)
wherever they run, so a pool process or Dask worker never depends on the parent's setting.
Prefect's API URL and settings travel with each task's serialized context, so task runs in
other processes report to the flow's server.
"""

from __future__ import annotations

import distributed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from aligngemini.config import TaskRunnerConfig
from aligngemini.registry import Registry

RUNNERS: Registry = Registry("task runner")


@RUNNERS.register("thread")
def _thread_pool(config: TaskRunnerConfig) -> TaskRunner:
    return ThreadPoolTaskRunner(max_workers=config.max_workers)


@RUNNERS.register("process")
def _process_pool(config: TaskRunnerConfig) -> TaskRunner:
    """Spawned processes: torch runs in parallel without Dask; the project is imported
    there as in the parent (it is installed)."""
    return ProcessPoolTaskRunner(max_workers=config.max_workers)


@RUNNERS.register("dask")
def _dask(config: TaskRunnerConfig) -> TaskRunner:
    """A running scheduler at `address`, or a LocalCluster of `max_workers` worker
    processes with one thread each: one task per process, so torch calls run in parallel
    instead of contending for one interpreter. Remote workers need this project installed
    and must reach the Prefect API."""
    if config.address is not None:
        return DaskTaskRunner(address=config.address)
    return DaskTaskRunner(
        cluster_class=distributed.LocalCluster,
        cluster_kwargs={"n_workers": config.max_workers, "threads_per_worker": 1, "processes": True},
    )


def build_task_runner(config: TaskRunnerConfig) -> TaskRunner:
    return RUNNERS.get(config.kind)(config)
