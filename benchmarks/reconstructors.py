"""How each reconstructor the bootstrap stage builds reconstructs held-out real tiles: its
training time, PSNR, and whether its reconstructions are as sharp as the reals. A blurry
decoder hands the pixel expert a shortcut ("blurry = fake"), so a reconstruction's mean
|Laplacian| should match its real's: the sharpness ratio (mean over held-out tiles of the
reconstruction's / the real's) should be near 1 and the AUROC of that one statistic between
reals and reconstructions near 0.5 (reported as max(a, 1 - a): 1 is a perfect shortcut).

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
from scipy.ndimage import laplace  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from aligngemini.bootstrap import BuildContext, build_model  # noqa: E402
from aligngemini.config import BootstrapModel  # noqa: E402
from aligngemini.images.pool import load_tiles  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from aligngemini.reconstruction.autoencoders import AUTOENCODERS  # noqa: E402
from aligngemini.reconstruction.quality import psnr  # noqa: E402
from aligngemini.reconstruction.vae import image_seed, load_vae, reconstruct  # noqa: E402


def sharpness(image: np.ndarray) -> float:
    """Mean |Laplacian| of a uint8 HxWx3 image, over its channels."""
    pixels = image.astype(np.float64)
    return float(np.mean([np.abs(laplace(pixels[..., c])).mean() for c in range(pixels.shape[-1])]))


def measure(vae: torch.nn.Module, tiles: list[np.ndarray], base_seed: int, batch_size: int) -> tuple[float, float, float]:
    """(mean PSNR, mean sharpness ratio, sharpness AUROC) of `vae` over `tiles`."""
    seeds = [image_seed(base_seed, hashlib.sha256(tile.tobytes()).hexdigest()) for tile in tiles]
    fakes = [np.asarray(out) for out in reconstruct(vae, [Image.fromarray(t) for t in tiles], seeds, batch_size)]
    real_sharp, fake_sharp = np.array([sharpness(t) for t in tiles]), np.array([sharpness(f) for f in fakes])
    auroc = roc_auc_score([0] * len(tiles) + [1] * len(fakes), np.concatenate([real_sharp, fake_sharp]))
    return float(np.mean([psnr(f, t) for f, t in zip(fakes, tiles)])), float(np.mean(fake_sharp / real_sharp)), max(auroc, 1 - auroc)


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
    print(f"{'name':<14} {'builder':<17} {'steps':>5} {'train s':>8} {'PSNR dB':>8} {'sharpness':>9} {'AUROC':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-reconstructors-") as tmp:
        for spec in specs:
            started = time.perf_counter()
            build_model(BuildContext(spec=spec, out_dir=Path(tmp) / spec.name, models_root=Path(tmp), real_images=train, prompts=[]))
            seconds = time.perf_counter() - started
            vae = load_vae(str(Path(tmp) / spec.name), None, project.root, spec.builder, device=project.params.reconstruction.device, dtype=project.params.reconstruction.dtype)
            quality, ratio, auroc = measure(vae, heldout, seed, batch_size)
            print(f"{spec.name:<14} {spec.builder:<17} {spec.train_steps:>5} {seconds:>8.1f} {quality:>8.2f} {ratio:>9.3f} {auroc:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
