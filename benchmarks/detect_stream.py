"""Peak memory of `aligngemini detect` as the folder grows: streaming keeps it flat.

Makes a folder of `--files` image files (hard links to a few small PNG crops of the photos
bundled in scikit-image, so 100k files take no disk), then runs `aligngemini detect FOLDER
--json` in a subprocess on the first 10 % of them and on all of them, and prints each run's
peak RSS (from the kernel, wait4), its throughput and how many lines it printed. Run it in a
project with a registered model (after `make run`):

    python benchmarks/detect_stream.py [--params params.yaml] [--model prod] [--files 100000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image
from skimage import data

SIDE = 96  # above the pixel expert's min_side, small enough to score fast


def write_folder(folder: Path, files: int) -> Path:
    """`files` PNGs in `folder` (links to 8 distinct crops), in sorted order."""
    sources = folder / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    crops = []
    for index in range(8):
        photo = photos[index % len(photos)]
        top, left = (index // 4) * SIDE, (index // 4) * SIDE
        path = sources / f"crop-{index}.png"
        if not path.exists():
            Image.fromarray(photo[top : top + SIDE, left : left + SIDE]).save(path)
        crops.append(path)
    images = folder / f"images-{files}"
    images.mkdir(exist_ok=True)
    for index in range(files):
        link = images / f"{index:07d}.png"
        if not link.exists():
            os.link(crops[index % len(crops)], link)
    return images


def run_detect(params: Path, model: str, folder: Path) -> tuple[float, float, int, int]:
    """(peak RSS MiB, seconds, exit code, stdout lines) of one detect run."""
    command = [str(Path(sys.executable).parent / "aligngemini"), "detect", str(folder), "--json", "--model", model, "--params", str(params)]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = sum(1 for _ in child.stdout)
    _, status, usage = os.wait4(child.pid, 0)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, os.waitstatus_to_exitcode(status), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model", default="prod")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/aligngemini-stream"))
    args = parser.parse_args()
    for files in (args.files // 10, args.files):
        folder = write_folder(args.folder, files)
        peak, seconds, code, lines = run_detect(args.params, args.model, folder)
        print(f"{files:>8,} files  peak RSS {peak:7.0f} MiB  {seconds:7.1f} s  {files / seconds:6.1f} files/s  {lines:,} lines  exit {code}", flush=True)


if __name__ == "__main__":
    main()
