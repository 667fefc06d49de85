"""Peak memory of `aligngemini detect` on a folder of 40 MP photos.

Writes `--images` JPEGs of about `--megapixels` MP each (an upscaled photo with film grain,
quality 90: sizes of a camera's files), then runs `aligngemini detect FOLDER --json` in a
subprocess twice and reads each one's peak RSS from the kernel (wait4):

1. with the project's params (`images.max_batch_pixels`: files are scored in chunks
   bounded by decoded pixels; the VLM sees copies no larger than `semantic.max_side`);
2. with `images.max_batch_pixels` raised to 10^12, which is how chunks were formed
   before: up to 256 *files* decoded and held at once, whatever their size.

It prints both peaks and whether the first stays under `--bound-mib` (2048 by default, the
embedded profile's bound). Run it in a project with a registered model (after `make run`):

    python benchmarks/detect_memory.py [--params params.yaml] [--model prod] [--images 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from skimage import data

from aligngemini.config import load_params

UNBOUNDED = 10**12


def write_photos(folder: Path, count: int, megapixels: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    width = int((megapixels * 1e6 * 1.5) ** 0.5) // 8 * 8  # 3:2, as camera sensors
    height = int(width / 1.5) // 8 * 8
    photo = Image.fromarray(data.astronaut())
    paths = []
    for index in range(count):
        path = folder / f"photo-{index:03d}.jpg"
        if not path.exists():
            rng = np.random.default_rng(index)
            big = np.asarray(photo.rotate(index * 7).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
            grain = rng.integers(-6, 7, size=big.shape, dtype=np.int16)
            Image.fromarray(np.clip(big + grain, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def run_detect(params: Path, model: str, folder: Path) -> tuple[float, float, int, str]:
    """(peak RSS MiB, seconds, exit code, last stderr line) of one detect run."""
    command = [str(Path(sys.executable).parent / "aligngemini"), "detect", str(folder), "--json", "--model", model, "--params", str(params)]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    lines = stderr.strip().splitlines()
    return usage.ru_maxrss / 1024, seconds, os.waitstatus_to_exitcode(status), lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model", default="prod")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--megapixels", type=float, default=40.0)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/aligngemini-40mp"))
    parser.add_argument("--bound-mib", type=float, default=2048.0)
    args = parser.parse_args()

    started = time.perf_counter()
    paths = write_photos(args.folder, args.images, args.megapixels)
    with Image.open(paths[0]) as first:
        size = first.size
    total_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{len(paths)} JPEGs of {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.1f} MP, {total_mb / len(paths):.1f} MB each) in {args.folder} ({time.perf_counter() - started:.0f} s)")

    raw = yaml.safe_load(args.params.read_text())
    bounded = load_params(args.params).images.max_batch_pixels
    unbounded_params = args.params.parent / f".{args.params.stem}.unbounded-batches.yaml"  # beside it: paths resolve the same
    unbounded_params.write_text(yaml.safe_dump({**raw, "images": {**raw["images"], "max_batch_pixels": UNBOUNDED}}, sort_keys=False))
    try:
        runs = {
            f"max_batch_pixels {bounded:,}": run_detect(args.params, args.model, args.folder),
            "chunks of 256 files (before)": run_detect(unbounded_params, args.model, args.folder),
        }
    finally:
        unbounded_params.unlink(missing_ok=True)
    decoded_mib = size[0] * size[1] * 3 / 2**20
    print(f"one decoded image: {decoded_mib:.0f} MiB RGB; all {len(paths)}: {decoded_mib * len(paths):.0f} MiB")
    for name, (peak, seconds, code, summary) in runs.items():
        print(f"{name:<32} peak RSS {peak:7.0f} MiB  {seconds:6.1f} s  exit {code}  {summary}")
    peak = next(iter(runs.values()))[0]
    print(f"bound {args.bound_mib:.0f} MiB: {'met' if peak <= args.bound_mib else 'NOT met'} ({peak:.0f} MiB)")


if __name__ == "__main__":
    main()
