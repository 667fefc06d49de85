"""Every stage of the pipeline on the GPU in bfloat16, on the embedded profile's tiny models
under the full profile's size rules (aligngemini/smoke.py): the check to run as soon as a CUDA
machine is at hand. Prints each stage's time and peak GPU memory; target: under 5 minutes
in all. Without CUDA it says so and exits 0.

Self-contained: it builds its own project in a temp folder (the embedded photos, the tiny
models bootstrapped with few steps) and its own Prefect test server.

    python benchmarks/gpu_smoke.py [--dtype bfloat16] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="gpu-smoke-prefect-"))

import torch  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GIB = 1024**3


def _project(folder: Path, dtype: str) -> Path:
    from aligngemini.smoke import PROMPTS, smoke_params

    load = lambda name: yaml.safe_load((ROOT / name).read_text())  # noqa: E731
    params = smoke_params(load("params.yaml"), load("params.full.yaml"), "cuda", dtype, prompts_file="data/prompts.txt")
    (folder / "data").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "captions.txt", folder / "data" / "captions.txt")
    (folder / "data" / "prompts.txt").write_text("".join(f"{prompt}\n" for prompt in PROMPTS))
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for args in (["init", "-q"], ["add", "params.yaml"], ["-c", "user.name=s", "-c", "user.email=s@s", "commit", "-qm", "smoke"]):
        subprocess.run(["git", *args], cwd=folder, check=True)
    return folder / "params.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--keep", type=Path, help="build the project here and keep it (default: a temp folder, removed)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device on this machine; nothing to measure")
        return 0

    from prefect.testing.utilities import prefect_test_harness

    from flows.bootstrap import bootstrap
    from flows.build_datasets import build_datasets
    from flows.evaluate import evaluate
    from flows.generate import generate
    from flows.ingest import ingest
    from flows.reconstruct import reconstruct
    from flows.register import register
    from flows.train_pixel import train_pixel
    from flows.train_semantic import train_semantic
    from flows.validate import validate

    stages = (ingest, bootstrap, generate, reconstruct, build_datasets, validate, train_pixel, train_semantic, evaluate, register)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    params = str(_project(folder, args.dtype))
    print(f"{torch.cuda.get_device_name(0)}, {args.dtype}, project {folder}")
    print(f"{'stage':<16} {'seconds':>8} {'peak GiB':>9}")
    total = 0.0
    with prefect_test_harness(server_startup_timeout=120):
        for stage in stages:
            torch.cuda.reset_peak_memory_stats()
            started = time.perf_counter()
            stage(params_path=params)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{stage.name:<16} {seconds:>8.1f} {torch.cuda.max_memory_allocated() / GIB:>9.2f}", flush=True)
    print(f"{'total':<16} {total:>8.1f}   (target: under 300 s)")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
