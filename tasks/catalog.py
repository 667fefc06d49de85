"""The catalog's single writer: every flow ends (and a resumed flow starts) with this task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.db import Catalog
from aligngemini.catalog.records import GeneratorRecord


@task(name="merge-catalog", cache_policy=NO_CACHE)
def merge_catalog(catalog: Path, staging: Path, generators: Sequence[GeneratorRecord] = ()) -> dict[str, int]:
    with Catalog(catalog) as db:
        inserted = db.merge_staging(staging)
        if generators:
            db.upsert_generators(generators)
    get_run_logger().info("catalog %s: merged %s", catalog, inserted)
    return inserted
