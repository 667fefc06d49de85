"""Task runners are data: `generation.task_runner.kind` in params.yaml names a builder here."""

from __future__ import annotations

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from aligngemini.config import TaskRunnerConfig
from aligngemini.registry import Registry

RUNNERS: Registry = Registry("task runner")


@RUNNERS.register("thread")
def _thread_pool(config: TaskRunnerConfig) -> TaskRunner:
    return ThreadPoolTaskRunner(max_workers=config.max_workers)


def build_task_runner(config: TaskRunnerConfig) -> TaskRunner:
    return RUNNERS.get(config.kind)(config)
