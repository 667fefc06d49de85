"""Bootstrap flow: builds the embedded profile's local models (generators and their VAE),
trained briefly on the ingested real tiles, each saved with `save_pretrained`.

    python -m flows.bootstrap [--params params.yaml]
"""

from __future__ import annotations


from prefect import flow

from aligngemini.generation.prompts import load_prompts
from aligngemini.images.pool import load_tiles
from aligngemini.project import Project
from tasks.bootstrap import build_model_task
from flows.cli_args import run_with_params


@flow(name="bootstrap")
def bootstrap(params_path: str = "params.yaml") -> dict[str, float]:
    project = Project.load(params_path)
    params = project.params
    if not params.bootstrap.models:  # the full profile loads hub models: no pool to decode
        project.models_root.mkdir(parents=True, exist_ok=True)  # the stage's declared output
        return {}
    tiles = load_tiles(project.manifest("real"), project.data_root, project.root, params.images, params.bootstrap.holdout_fraction)
    captions = load_prompts(project.path(params.bootstrap.captions_file))
    return {spec.name: build_model_task(project, spec, tiles, captions) for spec in params.bootstrap.models}


if __name__ == "__main__":
    run_with_params(bootstrap, __doc__)
