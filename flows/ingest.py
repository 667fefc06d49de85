"""Ingest flow: real photographs from the sources in params.yaml (by default the photos
bundled in installed wheels) or from one folder, tiled into fixed-size crops. A bad file is
quarantined with its reason and the run goes on.

    python -m flows.ingest [--params params.yaml] [--folder PATH]
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from aligngemini.catalog.db import records_for_source_kind
from aligngemini.config import RealSource
from aligngemini.ingest.sources import list_source_files
from aligngemini.manifest import write_manifest
from aligngemini.project import Project
from tasks.catalog import merge_catalog
from tasks.ingest import ingest_files_task
from tasks.progress import collect
from flows.cli_args import params_parser

FILES_PER_TASK = 4


@flow(name="ingest")
def ingest(params_path: str = "params.yaml", folder: str | None = None) -> dict[str, int]:
    """With `folder`, ingest only that folder (source name: the folder's name); otherwise
    every source of `ingest.sources`."""
    project = Project.load(params_path)
    logger = get_run_logger()
    store = project.store("real")
    store.remove_temp_files()
    merge_catalog(project.catalog, project.staging)

    sources = project.params.ingest.sources
    if folder is not None:
        sources = [RealSource(name=Path(folder).resolve().name, kind="folder", path=str(Path(folder).resolve()))]
    futures = []
    for source in sources:
        files = list_source_files(source)
        logger.info("source %s: %d files", source.name, len(files))
        for start in range(0, len(files), FILES_PER_TASK):
            futures.append(ingest_files_task.submit(project, source.name, files[start : start + FILES_PER_TASK]))
    results = collect(futures, len(futures), "ingest", unit="chunk")
    images, quarantined = sum(r[0] for r in results), sum(r[1] for r in results)

    merge_catalog(project.catalog, project.staging)
    rows = [r for r in records_for_source_kind(project.catalog, "real") if store.contains(r["sha256"])]
    write_manifest(rows, project.manifest("real"))
    logger.info("%d real images in the manifest, %d files quarantined", len(rows), quarantined)
    return {"images": images, "quarantined": quarantined, "manifest_rows": len(rows)}


def main() -> None:
    parser = params_parser(__doc__)
    parser.add_argument("--folder", default=None, help="ingest only this folder instead of the configured sources")
    args = parser.parse_args()
    ingest(params_path=args.params, folder=args.folder)


if __name__ == "__main__":
    main()
