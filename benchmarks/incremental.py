"""What adding one generator costs, against regenerating everything: the per-image stages
(generate, reconstruct) for k generators from scratch, then for one more generator added to
that project, then the rest of the pipeline that retraining reruns (datasets, validation,
both trainings, evaluation). The target: the added generator's generate + reconstruct take
at most 1/k of the full run's, so the whole addition costs at most full/k + the training.

Works on a copy of the project's real pool and embedded models: run `make run` first.

    python benchmarks/incremental.py [--params params.yaml] [--images-per-prompt 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))

import yaml  # noqa: E402
from prefect import flow  # noqa: E402

from aligngemini.project import Project  # noqa: E402
from flows.build_datasets import build_datasets  # noqa: E402
from flows.evaluate import evaluate  # noqa: E402
from flows.generate import generate  # noqa: E402
from flows.reconstruct import reconstruct  # noqa: E402
from flows.train_pixel import train_pixel  # noqa: E402
from flows.train_semantic import train_semantic  # noqa: E402
from flows.validate import validate  # noqa: E402

# the added generator: the tiny-sd model with another seed and guidance at the same step
# count, so its images cost what tiny-sd's do
ADDED = {"name": "tiny-sd-alt", "pipeline": "auto", "model": "models/embedded/tiny-sd", "steps": 8, "guidance": 2.0, "resolution": 64, "seed": 4000}


@flow(name="server-warmup")
def _warmup() -> None:
    """Starts the temporary Prefect server; timed apart from the flows under test."""


def _timed(*flows, params: Path) -> float:
    start = time.perf_counter()
    for flow_fn in flows:
        flow_fn(params_path=str(params))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--images-per-prompt", type=int, default=2)
    args = parser.parse_args()
    source = Project.load(args.params)
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as scratch:
        root = Path(scratch)
        for folder in ("data/real", "models/embedded", "data/prompts.txt", "data/captions.txt"):
            copy = shutil.copytree if source.path(folder).is_dir() else shutil.copy
            (root / folder).parent.mkdir(parents=True, exist_ok=True)
            copy(source.path(folder), root / folder)
        raw = yaml.safe_load(source.path(Path(args.params).name).read_text())
        raw["generation"]["images_per_prompt"] = args.images_per_prompt
        params = root / "params.yaml"
        params.write_text(yaml.safe_dump(raw, sort_keys=False))
        k = len(raw["generators"])
        _warmup()

        full = _timed(generate, reconstruct, params=params)
        raw["generators"].append(ADDED)
        params.write_text(yaml.safe_dump(raw, sort_keys=False))
        added = _timed(generate, reconstruct, params=params)
        rest = _timed(build_datasets, validate, train_pixel, train_semantic, evaluate, params=params)

    print(f"generators before: {k}; images per (generator, prompt): {args.images_per_prompt}")
    print(f"full generate + reconstruct of {k} generators: {full:.1f} s (1/k = {full / k:.1f} s)")
    print(f"added generator, generate + reconstruct:    {added:.1f} s ({added / (full / k):.2f} x full/k; target <= 1)")
    print(f"datasets, validation, both trainings, evaluation: {rest:.1f} s")
    print(f"whole addition: {added + rest:.1f} s vs full/k + training = {full / k + rest:.1f} s")


if __name__ == "__main__":
    main()
