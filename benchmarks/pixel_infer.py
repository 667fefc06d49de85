"""Images/s of the pixel expert's `p_fake` vs. the raw backbone forward on the same crops.

`p_fake` does everything a caller needs (the multi-crop rule, uint8 -> normalised float,
batching across images, the per-image mean and sigmoid); the baseline gets the very same
crops already cut, stacked and normalised, and only runs the backbone batch by batch, so
the difference is the overhead of the inference code. On a machine shared with other
work that difference is noisy, so `p_fake` is also timed with the backbone stubbed out:
the inference code's own time, next to the backbone's. The two sides run in turns, once
to warm up, then `--repeats` times each; the best time of each counts.

Images: `--images` real 128 px tiles from `data/real/manifest.parquet` (the embedded
profile's inputs) when it exists, else random images of `--size` px.

    python benchmarks/pixel_infer.py --checkpoint models/pixel [--images 256] [--threads 1]
    python benchmarks/pixel_infer.py                # untrained expert from params.yaml's `pixel`
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from aligngemini.pixel.checkpoint import load_checkpoint  # noqa: E402
from aligngemini.pixel.config import PixelConfig  # noqa: E402
from aligngemini.pixel.infer import image_crops, p_fake  # noqa: E402
from aligngemini.pixel.model import PixelExpert, build_expert  # noqa: E402

REAL_MANIFEST = Path("data/real/manifest.parquet")


def benchmark_images(count: int, size: int) -> tuple[list[Image.Image], str]:
    if REAL_MANIFEST.exists():
        rows = [row for row in pq.read_table(REAL_MANIFEST).to_pylist() if row["parent_sha256"]]
        if rows:
            images = []
            for index in range(count):
                with Image.open(rows[index % len(rows)]["path"]) as image:
                    images.append(image.convert("RGB"))
            return images, f"{count} real tiles from {REAL_MANIFEST} ({len(rows)} distinct)"
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(count)]
    return images, f"{count} random {size}x{size} images"


class NoBackbone(torch.nn.Module):
    """Stands in for the backbone to time everything else `p_fake` does."""

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return crops.new_zeros(len(crops), 1)


def best_times(runs: list, repeats: int) -> list[float]:
    """Best wall time of each of `runs`, taken in turns so that load from other processes
    weighs on both sides alike."""
    best = [float("inf")] * len(runs)
    for attempt in range(repeats + 1):
        for index, run in enumerate(runs):
            started = time.perf_counter()
            run()
            if attempt:  # the first round warms up
                best[index] = min(best[index], time.perf_counter() - started)
    return best


def expert_and_config(args: argparse.Namespace) -> tuple[PixelExpert, PixelConfig]:
    if args.checkpoint:
        return load_checkpoint(args.checkpoint)
    raw = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    if "pixel" not in raw:
        raise SystemExit(f"{args.params} has no 'pixel' key: pass --checkpoint DIR")
    config = PixelConfig.model_validate(raw["pixel"])
    torch.manual_seed(config.seed)
    return build_expert(config).eval(), config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="a saved pixel expert (default: build one from --params)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=128, help="side of the random images used without real tiles")
    parser.add_argument("--threads", type=int, help="torch threads (default: the config's)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    expert, config = expert_and_config(args)
    torch.set_num_threads(args.threads or config.threads)
    images, described = benchmark_images(args.images, args.size)
    rule = config.inference
    crops = torch.cat([image_crops(image, config.crop_size, rule) for image in images])
    with torch.inference_mode():
        batches = [expert.normalise(crops[i : i + rule.batch_size]) for i in range(0, len(crops), rule.batch_size)]

    def raw_forward() -> None:
        with torch.inference_mode():
            for batch in batches:
                expert.backbone(batch)

    full, raw = best_times([lambda: p_fake(expert, images, rule), raw_forward], args.repeats)
    backbone, expert.backbone = expert.backbone, NoBackbone()
    (alone,) = best_times([lambda: p_fake(expert, images, rule)], args.repeats)
    expert.backbone = backbone
    print(f"backbone {config.backbone.name}, crop {config.crop_size}, {described}: {len(crops)} crops "
          f"({len(crops) / len(images):.1f} per image), batch {rule.batch_size}, {torch.get_num_threads()} thread(s)")  # fmt: skip
    print(f"p_fake:           {len(images) / full:8.1f} images/s  ({full:.3f} s)")
    print(f"backbone forward: {len(images) / raw:8.1f} images/s  ({raw:.3f} s, same crops, pre-normalised)")
    print(f"overhead:         {100 * (full / raw - 1):8.1f} %  (target <= 15 %)")
    print(f"p_fake with the backbone stubbed out: {alone:.3f} s = {100 * alone / raw:.1f} % of the backbone's time "
          "(the overhead measured alone; steadier than the difference above on a busy machine)")  # fmt: skip


if __name__ == "__main__":
    main()
