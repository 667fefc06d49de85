"""Prefect wrappers of dataset building and validation."""

from __future__ import annotations

import json
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aligngemini.catalog.records import DatasetMemberRecord, DatasetRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.datasets.build import DATASET_BUILDERS, DatasetInputs, write_dataset_manifest
from aligngemini.datasets.validation import ValidationPolicy, ValidationReport, validate_manifest
from aligngemini.datasets.version import dvc_md5, git_rev, params_hash
from aligngemini.project import Project
from tasks.runtime import current_flow_run_id, now_iso


@task(name="build-dataset", cache_policy=NO_CACHE)
def build_dataset_task(project: Project, name: str, inputs: DatasetInputs) -> int:
    built = DATASET_BUILDERS.get(name)(
        inputs, project.params.datasets, project.dataset_store(name), lambda row: project.load_image(row["path"]),
        created_at=now_iso(), flow_run_id=current_flow_run_id(),
    )
    write_dataset_manifest(built.rows, project.dataset_manifest(name))
    write_shard(project.staging, "images", [r.to_row() for r in built.new_records])
    get_run_logger().info("dataset %s: %d samples, %d derived images", name, len(built.rows), len(built.new_records))
    return len(built.rows)


@task(name="validate-dataset", cache_policy=NO_CACHE)
def validate_dataset_task(project: Project, name: str, policy: ValidationPolicy) -> ValidationReport:
    """Validates, then records the version (its DVC md5) and its members for the catalog,
    whether it passed or not: a failed version is part of the history too."""
    manifest = pd.read_parquet(project.dataset_manifest(name))
    report = validate_manifest(manifest, policy, dataset=name)
    md5 = dvc_md5(project.dataset_manifest(name).parent)
    summary = {"success": report.success, "statistics": report.statistics, "failures": report.failures, "skipped": report.skipped}
    record = DatasetRecord(
        name=name, md5=md5, git_rev=git_rev(project.root), params_hash=params_hash(project.params), rows=len(manifest),
        validation_success=report.success, validation=json.dumps(summary, default=str), created_at=now_iso(),
        flow_run_id=current_flow_run_id(),
    )
    write_shard(project.staging, "datasets", [record.to_row()])
    members = [
        DatasetMemberRecord(md5, name, sha, split, label, None if pd.isna(generator) else generator).to_row()
        for sha, split, label, generator in manifest[["sha256", "split", "label", "generator"]].itertuples(index=False)
    ]
    write_shard(project.staging, "dataset_members", members)
    get_run_logger().info("dataset %s (md5 %s): %s", name, md5, "valid" if report.success else "INVALID")
    return report
