"""Build-datasets flow: one group-split plan, then every registered dataset (the
pixel-artifact pairs and the semantic set) from the real, generated and reconstruction
manifests.

    python -m flows.build_datasets [--params params.yaml]
"""

from __future__ import annotations


from prefect import flow

from aligngemini.datasets.build import DATASET_BUILDERS, DatasetInputs
from aligngemini.datasets.splits import plan_splits
from aligngemini.manifest import read_manifest
from aligngemini.project import Project
from tasks.catalog import merge_catalog
from tasks.datasets import build_dataset_task
from flows.cli_args import run_with_params


@flow(name="build_datasets")
def build_datasets(params_path: str = "params.yaml") -> dict[str, int]:
    project = Project.load(params_path)
    cfg = project.params.datasets
    for name in DATASET_BUILDERS.names():
        project.dataset_store(name).remove_temp_files()
    real, generated = read_manifest(project.manifest("real")), read_manifest(project.manifest("generated"))
    splits = plan_splits([*real, *generated], cfg.split_fractions, cfg.seed, cfg.heldout_generators)
    inputs = DatasetInputs(real, generated, read_manifest(project.manifest("reconstruction")), splits)
    sizes = {name: build_dataset_task(project, name, inputs) for name in DATASET_BUILDERS.names()}
    merge_catalog(project.catalog, project.staging)
    return sizes


if __name__ == "__main__":
    run_with_params(build_datasets, __doc__)
