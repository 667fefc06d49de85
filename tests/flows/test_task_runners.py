import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

import tasks.generate
from aligngemini.catalog.db import generated_records
from aligngemini.config import TaskRunnerConfig, load_params
from aligngemini.errors import ConfigError
from aligngemini.project import Project
from aligngemini.registry import UnknownEntryError
from flows.generate import run_generate
from tests.conftest import TEST_PROMPTS, make_project
from tasks.runners import RUNNERS, build_task_runner

RUNNER_TYPES = {"thread": ThreadPoolTaskRunner, "process": ProcessPoolTaskRunner, "dask": DaskTaskRunner}
OTHER_THAN_THREAD = [kind for kind in RUNNERS.names() if kind != "thread"]


def _pool_size(runner) -> int:
    if isinstance(runner, DaskTaskRunner):
        return runner.cluster_kwargs["n_workers"]
    return runner._max_workers


def test_every_registered_runner_has_a_known_type():
    assert set(RUNNERS.names()) == set(RUNNER_TYPES), "a registered runner is untested here"


@pytest.mark.parametrize("kind", RUNNERS.names())
def test_params_file_builds_its_runner(new_project, kind):
    def use(params: dict) -> None:
        params["generation"]["task_runner"] = {"kind": kind, "max_workers": 3}

    runner = build_task_runner(load_params(new_project(use)).generation.task_runner)
    assert type(runner) is RUNNER_TYPES[kind]
    assert _pool_size(runner) == 3


def test_unknown_kind_lists_registered_runners():
    with pytest.raises(UnknownEntryError) as err:
        build_task_runner(TaskRunnerConfig(kind="ray", max_workers=2))
    message = str(err.value)
    assert "'ray'" in message
    assert all(name in message for name in RUNNERS.names())


@pytest.mark.parametrize("kind", [kind for kind in RUNNERS.names() if kind != "dask"])
def test_address_refused_for_local_runners(new_project, kind):
    def use(params: dict) -> None:
        params["reconstruction"]["task_runner"] = {"kind": kind, "max_workers": 2, "address": "tcp://10.0.0.5:8786"}

    path = new_project(use)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == "reconstruction.task_runner.address"
    assert str(path) in str(err.value) and "dask" in str(err.value)


def test_dask_address_connects_instead_of_starting_a_cluster():
    runner = build_task_runner(TaskRunnerConfig(kind="dask", max_workers=2, address="tcp://10.0.0.5:8786"))
    assert runner.address == "tcp://10.0.0.5:8786"
    assert runner.cluster_class is None and runner.cluster_kwargs == {}


def test_dask_local_cluster_has_one_single_threaded_process_per_worker():
    import torch

    with build_task_runner(TaskRunnerConfig(kind="dask", max_workers=2)) as runner:
        client = runner.client
        assert list(client.nthreads().values()) == [1, 1]
        pids = client.run(os.getpid)
        # torch in a worker defaults to one thread (tasks raise it from params), so
        # max_workers processes never oversubscribe the cores
        torch_threads = client.run(torch.get_num_threads)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    assert list(torch_threads.values()) == [1, 1]


# -- the generate flow on each runner ------------------------------------------------------


def _small_two_generators(params: dict, kind: str) -> None:
    """tiny-sd and tiny-pixart, 3 images each, one batch per task: two tasks to run at once."""
    params["generators"] = params["generators"][:2]
    names = {g["name"] for g in params["generators"]}
    params["datasets"]["heldout_generators"] = [g for g in params["datasets"]["heldout_generators"] if g in names]
    gen = params["generation"]
    gen.update(images_per_prompt=1, batch_size=3, batches_per_task=1)
    gen["task_runner"] = {"kind": kind, "max_workers": 1 if kind == "thread" else 2}


def _generate_on(kind: str, root: Path, models: Path) -> tuple[Path, int]:
    """Runs the generate flow as `python -m flows.generate` does; returns the params path and
    how many batches were generated in this (the flow's) process."""
    params = make_project(root, lambda p: _small_two_generators(p, kind), TEST_PROMPTS)
    shutil.copytree(models, root / "models")
    real_batch, calls = tasks.generate.generate_batch, Counter()

    def counted(*args, **kwargs):
        calls["batches"] += 1
        return real_batch(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks.generate, "generate_batch", counted)
        assert run_generate(str(params)) == {"planned": 6, "generated": 6, "reused": 0}
    return params, calls["batches"]


def _outcome(params: Path) -> tuple[list[dict], dict[str, bytes]]:
    """Catalog rows without run metadata, and the store's files by relative path."""
    project = Project.load(params)
    rows = generated_records(project.catalog, [g.name for g in project.params.generators])
    stable = [{k: v for k, v in row.items() if k not in ("created_at", "flow_run_id")} for row in rows]
    store = project.store("generated")
    return stable, {p.relative_to(store.root).as_posix(): p.read_bytes() for p in store.files()}


@pytest.fixture(scope="module")
def thread_run(embedded_project, tmp_path_factory) -> tuple[Path, int]:
    """The reference: the default runner (one thread), shared by the other runners' tests."""
    return _generate_on("thread", tmp_path_factory.mktemp("thread-run"), embedded_project.parent / "models")


@pytest.mark.slow
@pytest.mark.parametrize("kind", OTHER_THAN_THREAD)
def test_runner_makes_the_thread_runners_images(thread_run, embedded_project, tmp_path, kind):
    reference, reference_in_flow_process = thread_run
    params, in_flow_process = _generate_on(kind, tmp_path, embedded_project.parent / "models")
    assert reference_in_flow_process == 2 and in_flow_process == 0, "batches ran in the flow's process, not in workers"

    rows, files = _outcome(params)
    expected_rows, expected_files = _outcome(reference)
    assert Counter(r["generator"] for r in rows) == {"tiny-sd": 3, "tiny-pixart": 3}
    assert {r["sha256"] for r in rows} == {r["sha256"] for r in expected_rows}
    assert files == expected_files
    assert rows == expected_rows

    # task runs in the workers reported to the flow's Prefect server
    (flow_run_id,) = {r["flow_run_id"] for r in generated_records(Project.load(params).catalog, ["tiny-sd", "tiny-pixart"])}
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    batch_runs = [run for run in runs if run.name.startswith("generate-batches")]
    assert len(batch_runs) == 2 and all(run.state.is_completed() for run in batch_runs)
