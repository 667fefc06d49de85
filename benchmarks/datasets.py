"""The datasets stage in figures, in one run. Needs the embedded pipeline up to `generate`
(`make run`):

1. the reconstructor: builds the `reconstruction` model's bootstrap entry afresh (timed: its
   CPU training time) and prints its PSNR on the tiles of the held-out photos it never saw;
2. reconstruction throughput: the `reconstruct` flow (from the flow's start) vs. raw VAE
   encode+decode of the same inputs at the same batch size;
3. Great Expectations validation of a 100k-row manifest (runs benchmarks/validation.py).

    python benchmarks/datasets.py [--params params.yaml] [--skip-training]
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
from diffusers import AutoencoderKL  # noqa: E402
from prefect import flow  # noqa: E402

from aligngemini.bootstrap.registry import BuildContext, build_model  # noqa: E402
from aligngemini.generation.prompts import load_prompts  # noqa: E402
from aligngemini.images.pool import load_tiles  # noqa: E402
from aligngemini.manifest import read_manifest  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from aligngemini.reconstruction.crop import crop_to_multiple  # noqa: E402
from aligngemini.reconstruction.jobs import batch_by_size, plan_reconstructions  # noqa: E402
from aligngemini.reconstruction.quality import heldout_psnr  # noqa: E402
from aligngemini.reconstruction.vae import clear_vae_cache, load_vae, reconstruct  # noqa: E402
from aligngemini.datasets.align import resize  # noqa: E402
from flows.reconstruct import reconstruct as reconstruct_flow  # noqa: E402


@flow(name="server-warmup")
def _warmup() -> None:
    """Starts the temporary Prefect server; timed apart from the flow under test."""


def reconstructor_quality(project: Project, scratch: Path) -> None:
    params = project.params
    spec = next(m for m in params.bootstrap.models if project.models_root / m.name == project.path(params.reconstruction.model))
    torch.set_num_threads(params.bootstrap.threads)
    load = lambda holdout: load_tiles(project.manifest("real"), project.data_root, project.root, params.images, params.bootstrap.holdout_fraction, holdout)  # noqa: E731
    start = time.process_time(), time.perf_counter()
    build_model(BuildContext(spec, scratch / spec.name, project.models_root, load(False), load_prompts(project.path(params.bootstrap.captions_file))))
    cpu, wall = time.process_time() - start[0], time.perf_counter() - start[1]
    vae = AutoencoderKL.from_pretrained(scratch / spec.name)
    heldout = load(True)
    value = heldout_psnr(vae, heldout, params.reconstruction.seed, params.reconstruction.batch_size)
    print(f"reconstructor {spec.name}: {spec.train_steps} steps, {wall:.0f} s wall, {cpu:.0f} s CPU ({params.bootstrap.threads} threads)")
    print(f"held-out PSNR                  {value:6.2f} dB on {len(heldout)} tiles of held-out photos (test floor 20 dB, target 25 dB)")


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
    jobs = plan_reconstructions(read_manifest(bench.manifest("real")), read_manifest(bench.manifest("generated")), cfg.semantic_size)
    batches = batch_by_size(jobs, cfg.batch_size)
    inputs = []
    for batch in batches:
        images = [crop_to_multiple(bench.load_image(job.parent_path)) for job in batch]
        inputs.append([resize(im, job.resize)[0] if job.resize else im for im, job in zip(images, batch)])
    vae = load_vae(cfg.model, cfg.subfolder, bench.root)
    start = time.perf_counter()
    for batch in inputs:
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
    print(f"raw VAE encode+decode          {raw:7.2f} s  {n / raw:7.1f} images/s")
    print(f"reconstruct flow               {flowed:7.2f} s  {n / flowed:7.1f} images/s (from the flow's start; made {summary['reconstructed']})")
    print(f"flow overhead                  {100 * (flowed / raw - 1):6.1f} %  (target <= 15 %)")
    print(f"prefect server start-up (once) {server:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--skip-training", action="store_true", help="skip rebuilding the reconstructor")
    args = parser.parse_args()
    project = Project.load(args.params)
    if not project.manifest("generated").is_file():
        raise SystemExit("run `make run` first: the benchmark reads the real and generated images")
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as scratch:
        if not args.skip_training:
            reconstructor_quality(project, Path(scratch))
        reconstruction_throughput(project, Path(scratch))
    sys.argv = [str(Path(__file__).with_name("validation.py")), "--rows", "100000"]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
