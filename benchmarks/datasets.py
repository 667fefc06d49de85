"""The datasets stage in figures, in one run. Needs the embedded pipeline up to `generate`
(`make run`):

1. reconstruction throughput: the `reconstruct` flow (from the flow's start) vs. raw
   encode+decode of the same inputs through the same reconstructors at the same batch size;
2. Great Expectations validation of a 100k-row manifest (runs benchmarks/validation.py).
Each reconstructor's training time and held-out PSNR: benchmarks/reconstructors.py.

    python benchmarks/datasets.py [--params params.yaml]
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))

import torch  # noqa: E402
from prefect import flow  # noqa: E402

from aligngemini.manifest import read_manifest  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from aligngemini.reconstruction.crop import crop_to_multiple  # noqa: E402
from aligngemini.reconstruction.jobs import ReconPlan, batch_jobs, plan_reconstructions  # noqa: E402
from aligngemini.reconstruction.vae import clear_vae_cache, load_reconstructor, reconstruct  # noqa: E402
from aligngemini.datasets.align import resize  # noqa: E402
from flows.reconstruct import reconstruct as reconstruct_flow  # noqa: E402


@flow(name="server-warmup")
def _warmup() -> None:
    """Starts the temporary Prefect server; timed apart from the flow under test."""


def reconstruction_throughput(project: Project, scratch: Path) -> None:
    root = scratch / "project"
    (root / "data").mkdir(parents=True)
    shutil.copy(project.root / "params.yaml", root / "params.yaml")
    (root / "models").symlink_to(project.root / "models")
    for kind in ("real", "generated"):
        shutil.copytree(project.data_root / kind, root / "data" / kind)
    bench = Project.load(root / "params.yaml")
    cfg = bench.params.reconstruction
    torch.set_num_threads(cfg.threads)
    real_rows = read_manifest(bench.manifest("real"))
    jobs = plan_reconstructions(real_rows, read_manifest(bench.manifest("generated")), ReconPlan.from_params(bench.params, real_rows))
    inputs = []
    for batch in batch_jobs(jobs, cfg.batch_size):
        entry = cfg.reconstructor(batch[0].reconstructor)
        images = [crop_to_multiple(bench.load_image(job.parent_path)) for job in batch]
        vae = load_reconstructor(entry, bench.root, device=bench.params.reconstruction.device, dtype=bench.params.reconstruction.dtype)
        inputs.append((vae, [resize(im, job.resize)[0] if job.resize else im for im, job in zip(images, batch)]))
    start = time.perf_counter()
    for vae, batch in inputs:
        reconstruct(vae, batch, list(range(len(batch))), cfg.batch_size)
    raw = time.perf_counter() - start

    start = time.perf_counter()
    _warmup()
    server = time.perf_counter() - start
    clear_vae_cache()
    start = time.perf_counter()
    summary = reconstruct_flow(params_path=str(root / "params.yaml"))
    flowed = time.perf_counter() - start
    n = len(jobs)
    print(f"reconstructions                {n} (batch {cfg.batch_size}, {cfg.threads} torch threads)")
    print(f"raw encode+decode              {raw:7.2f} s  {n / raw:7.1f} images/s")
    print(f"reconstruct flow               {flowed:7.2f} s  {n / flowed:7.1f} images/s (from the flow's start; made {summary['reconstructed']})")
    print(f"flow overhead                  {100 * (flowed / raw - 1):6.1f} %  (target <= 15 %)")
    print(f"prefect server start-up (once) {server:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    project = Project.load(args.params)
    if not project.manifest("generated").is_file():
        raise SystemExit("run `make run` first: the benchmark reads the real and generated images")
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as scratch:
        reconstruction_throughput(project, Path(scratch))
    sys.argv = [str(Path(__file__).with_name("validation.py")), "--rows", "100000"]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
