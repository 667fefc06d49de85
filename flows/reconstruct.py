"""Reconstruct flow: real tiles and generated images through the registered reconstructors
(each loaded by its kind's diffusers class with `from_pretrained`: a local bootstrap model or
a hub id), as `aligngemini.reconstruction.jobs` plans them. Incremental: a (parent,
transform) already reconstructed is never done again; the transform names the reconstructor.

    python -m flows.reconstruct [--params params.yaml]
"""

from __future__ import annotations


from prefect import flow, get_run_logger

from aligngemini.catalog.db import records_for_source_kind
from aligngemini.manifest import read_manifest, write_manifest
from aligngemini.project import Project
from aligngemini.reconstruction.jobs import ReconPlan, batch_jobs, plan_reconstructions
from tasks.catalog import merge_catalog
from tasks.progress import collect
from tasks.reconstruct import reconstruct_batch_task
from tasks.runners import build_task_runner
from flows.cli_args import params_parser


def _made(project: Project) -> dict[tuple[str, str], dict]:
    store = project.store("reconstruction")
    rows = records_for_source_kind(project.catalog, "reconstruction")
    return {(r["parent_sha256"], r["transform"]): r for r in rows if store.contains(r["sha256"])}


@flow(name="reconstruct")
def reconstruct(params_path: str = "params.yaml") -> dict[str, int]:
    project = Project.load(params_path)
    cfg = project.params.reconstruction
    project.store("reconstruction").remove_temp_files()
    merge_catalog(project.catalog, project.staging)

    real_rows = read_manifest(project.manifest("real"))
    jobs = plan_reconstructions(real_rows, read_manifest(project.manifest("generated")), ReconPlan.from_params(project.params, real_rows))
    keys = [job.key for job in jobs]
    done = _made(project)
    todo = [job for job in jobs if job.key not in done]
    get_run_logger().info("%d reconstructions planned, %d to make", len(jobs), len(todo))
    collect([reconstruct_batch_task.submit(project, batch) for batch in batch_jobs(todo, cfg.batch_size * cfg.batches_per_task)], len(todo), "reconstruct")

    merge_catalog(project.catalog, project.staging)
    made = _made(project)
    missing = [key for key in keys if key not in made]
    if missing:
        raise RuntimeError(f"{len(missing)} planned reconstructions are not in the catalog, e.g. {missing[0]}")
    write_manifest([made[key] for key in keys], project.manifest("reconstruction"))
    return {"planned": len(jobs), "reconstructed": len(todo), "reused": len(jobs) - len(todo)}


def main() -> None:
    parser = params_parser(__doc__)
    args = parser.parse_args()
    runner = build_task_runner(Project.load(args.params).params.reconstruction.task_runner)
    reconstruct.with_options(task_runner=runner)(params_path=args.params)


if __name__ == "__main__":
    main()
