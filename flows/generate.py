"""Generate flow: every (generator x prompt x seed) image that the catalog does not hold yet.

    python -m flows.generate [--params params.yaml]
"""

from __future__ import annotations


from prefect import flow, get_run_logger

from aligngemini.catalog.db import generated_records
from aligngemini.generation.jobs import batch_jobs, missing_jobs, plan_jobs
from aligngemini.generation.prompts import load_prompts
from aligngemini.generation.run import generator_record, stored_keys
from aligngemini.manifest import write_manifest
from aligngemini.project import Project
from tasks.catalog import merge_catalog
from tasks.generate import generate_batches_task
from tasks.progress import collect
from tasks.runners import build_task_runner
from tasks.runtime import now_iso
from flows.cli_args import params_parser


@flow(name="generate")
def generate(params_path: str = "params.yaml") -> dict[str, int]:
    project = Project.load(params_path)
    params = project.params
    logger = get_run_logger()
    store = project.store("generated")
    store.remove_temp_files()
    merge_catalog(project.catalog, project.staging)  # shards left by a killed run count as made

    names = [entry.name for entry in params.generators]
    planned = plan_jobs(params.generators, load_prompts(project.path(params.generation.prompts_file)), params.generation.images_per_prompt)
    existing = stored_keys(generated_records(project.catalog, names), store)
    todo = missing_jobs(planned, set(existing))
    logger.info("%d images planned, %d already made, %d to generate", len(planned), len(planned) - len(todo), len(todo))

    gen = params.generation
    task = generate_batches_task.with_options(retries=gen.retries, retry_delay_seconds=gen.retry_delay_s)
    batches = batch_jobs(todo, gen.batch_size)
    chunks = [batches[i : i + gen.batches_per_task] for i in range(0, len(batches), gen.batches_per_task)]
    collect([task.submit(project, chunk) for chunk in chunks], len(todo), "generate")

    registered_at = now_iso()
    merge_catalog(project.catalog, project.staging, [generator_record(e, project.root, gen.device, registered_at) for e in params.generators])
    made = stored_keys(generated_records(project.catalog, names), store)
    missing = [job.key for job in planned if job.key not in made]
    if missing:
        raise RuntimeError(f"{len(missing)} planned images are not in the catalog after generation, e.g. {missing[0]}")
    write_manifest([made[job.key] for job in planned], project.manifest("generated"))
    return {"planned": len(planned), "generated": len(todo), "reused": len(planned) - len(todo)}


def run_generate(params_path: str = "params.yaml") -> dict[str, int]:
    """The flow on the task runner that `generation.task_runner` names."""
    runner = build_task_runner(Project.load(params_path).params.generation.task_runner)
    return generate.with_options(task_runner=runner)(params_path=params_path)


def main() -> None:
    parser = params_parser(__doc__)
    run_generate(parser.parse_args().params)


if __name__ == "__main__":
    main()
