"""How each reconstructor the bootstrap stage builds reconstructs held-out real tiles: its
training time, PSNR, and which simple statistics tell its reconstructions from the reals. A
blurry decoder hands the pixel expert a shortcut ("blurry = fake"): the sharpness ratio (mean
over held-out tiles of the reconstruction's mean |Laplacian| / the real's) should be near 1,
and each statistic of the pixel dataset's shortcut check (aligngemini.datasets.shortcuts)
should have a separability max(AUROC, 1 - AUROC) between reals and reconstructions near 0.5
(1 is a perfect shortcut; mean_* is the worst colour channel).

Each spec is built from the training tiles into a temporary directory, as `flows.bootstrap`
builds it; the specs are the `bootstrap.models` entries of `--params` whose builder is an
autoencoder kind, or those of `--specs` (a YAML list of such entries) to try candidates.

    python benchmarks/reconstructors.py [--params params.yaml] [--specs candidates.yaml] [--models recon-vae,recon-vq]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from aligngemini.bootstrap import BuildContext, build_model  # noqa: E402
from aligngemini.config import BootstrapModel  # noqa: E402
from aligngemini.datasets.shortcuts import STATISTICS  # noqa: E402
from aligngemini.images.pool import load_tiles  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from aligngemini.reconstruction.autoencoders import AUTOENCODERS  # noqa: E402
from aligngemini.reconstruction.quality import psnr  # noqa: E402
from aligngemini.reconstruction.vae import image_seed, load_vae, reconstruct  # noqa: E402


def measure(vae: torch.nn.Module, tiles: list[np.ndarray], base_seed: int, batch_size: int) -> tuple[float, float, dict[str, float]]:
    """(mean PSNR, mean sharpness ratio, separability per statistic of the dataset's shortcut
    check) of `vae` over `tiles`: max(AUROC, 1 - AUROC) of each statistic between the reals
    and their reconstructions (0.5: no shortcut, 1: a perfect one)."""
    seeds = [image_seed(base_seed, hashlib.sha256(tile.tobytes()).hexdigest()) for tile in tiles]
    fakes = [np.asarray(out) for out in reconstruct(vae, [Image.fromarray(t) for t in tiles], seeds, batch_size)]
    labels = [0] * len(tiles) + [1] * len(fakes)
    separability = {}
    for name in STATISTICS.names():
        statistic = STATISTICS.get(name)
        values = [statistic(image.astype(np.float64)) for image in (*tiles, *fakes)]
        auroc = roc_auc_score(labels, values)
        separability[name] = max(auroc, 1 - auroc)
    sharpness = STATISTICS.get("sharpness")
    ratio = np.mean([sharpness(f.astype(np.float64)) / sharpness(t.astype(np.float64)) for f, t in zip(fakes, tiles)])
    return float(np.mean([psnr(f, t) for f, t in zip(fakes, tiles)])), float(ratio), separability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="project whose real tiles train and measure")
    parser.add_argument("--specs", help="YAML list of bootstrap.models entries to build instead of --params' own")
    parser.add_argument("--models", help="comma-separated names: only these specs")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    project = Project.load(args.params)
    params = project.params
    if args.specs:
        specs = [BootstrapModel.model_validate(raw) for raw in yaml.safe_load(Path(args.specs).read_text(encoding="utf-8"))]
    else:
        specs = list(params.bootstrap.models)
    specs = [s for s in specs if s.builder in AUTOENCODERS.names() and (not args.models or s.name in args.models.split(","))]
    if not specs:
        raise SystemExit("no autoencoder specs to build")
    torch.set_num_threads(args.threads)
    load = (project.manifest("real"), project.data_root, project.root, params.images, params.bootstrap.holdout_fraction)
    train, heldout = load_tiles(*load), load_tiles(*load, holdout=True)
    batch_size, seed = params.reconstruction.batch_size, params.reconstruction.seed
    print(f"{len(train)} training tiles, {len(heldout)} held-out tiles, {torch.get_num_threads()} thread(s)")
    shown = [name for name in STATISTICS.names() if not name.startswith("mean_")] + ["mean_*"]
    print(f"{'name':<18} {'builder':<17} {'steps':>5} {'train s':>8} {'PSNR dB':>8} {'sharp ratio':>11} " + " ".join(f"{n:>16}" for n in shown))
    with tempfile.TemporaryDirectory(prefix="bench-reconstructors-") as tmp:
        for spec in specs:
            started = time.perf_counter()
            build_model(BuildContext(spec=spec, out_dir=Path(tmp) / spec.name, models_root=Path(tmp), real_images=train, prompts=[]))
            seconds = time.perf_counter() - started
            vae = load_vae(str(Path(tmp) / spec.name), None, project.root, spec.builder, device=project.params.reconstruction.device, dtype=project.params.reconstruction.dtype)
            quality, ratio, separability = measure(vae, heldout, seed, batch_size)
            channels = max(value for name, value in separability.items() if name.startswith("mean_"))
            columns = [separability[n] for n in shown[:-1]] + [channels]
            print(f"{spec.name:<18} {spec.builder:<17} {spec.train_steps:>5} {seconds:>8.1f} {quality:>8.2f} {ratio:>11.3f} " + " ".join(f"{v:>16.3f}" for v in columns), flush=True)


if __name__ == "__main__":
    main()
