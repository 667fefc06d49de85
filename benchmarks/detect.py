"""Images/s of `FusedDetector.detect_paths` vs. the raw forwards of its two branches.

`detect_paths` does everything the `aligngemini detect` command does per file: the defensive
decode, the pixel expert's size check, both branches (each batching internally) and the
fusion. The baseline gets the same images already decoded and runs only the branches'
own scoring calls (pixel `predict_logits`, semantic `score`), so the difference is the
fused detector's overhead (target <= 20 %). The two sides run in turns, once to warm up,
then `--repeats` times each; the best time of each counts (the machine is shared).

Model: `--model-dir` (a fused model folder), or by default one built into a temp folder
from `models/trained/pixel` and `models/trained/semantic` (base `models/embedded/tiny-vlm`,
or_fixed fusion at params' `fusion.threshold`). Images: the first `--images` / 2 PNGs with
both sides >= 64 px (sorted by path) of `data/generated` and as many of `data/real`.

    python benchmarks/detect.py [--model-dir DIR] [--images 100] [--threads 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from aligngemini.config import load_params  # noqa: E402
from aligngemini.fusion.detector import FusedDetector  # noqa: E402
from aligngemini.fusion.model_dir import write_fused_model  # noqa: E402
from aligngemini.fusion.rules import FusionModel  # noqa: E402
from aligngemini.images.loader import load_image  # noqa: E402
from aligngemini.pixel.infer import predict_logits  # noqa: E402
from aligngemini.semantic.score import score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE_MODEL = "models/embedded/tiny-vlm"


def pick_images(folder: Path, count: int, min_side: int = 64) -> list[Path]:
    picked = []
    for path in sorted(folder.rglob("*.png")):
        with Image.open(path) as image:
            if min(image.size) >= min_side:
                picked.append(path)
        if len(picked) == count:
            return picked
    raise SystemExit(f"{folder}: only {len(picked)} PNG files with both sides >= {min_side} px, {count} needed")


def build_model_dir(out_dir: Path) -> Path:
    params = load_params(ROOT / "params.yaml")
    threshold = params.fusion.threshold
    return write_fused_model(
        out_dir,
        pixel_checkpoint=ROOT / "models" / "trained" / "pixel",
        semantic_adapter=ROOT / "models" / "trained" / "semantic",
        semantic_base_model=BASE_MODEL,
        semantic=params.semantic,
        pixel=params.pixel,
        fusion=FusionModel("or_fixed", {"t_pixel": threshold, "t_semantic": threshold}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, help="fused model folder (default: built from models/trained)")
    parser.add_argument("--images", type=int, default=100, help="images, half generated and half real")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each side")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(ROOT / "params.yaml")

    with tempfile.TemporaryDirectory(prefix="bench-detect-") as scratch:
        model_dir = args.model_dir or build_model_dir(Path(scratch) / "fused")
        detector = FusedDetector.load(model_dir, ROOT, device=params.semantic.device)
        half = args.images // 2
        paths = pick_images(ROOT / "data" / "generated", half) + pick_images(ROOT / "data" / "real", args.images - half)
        images = [load_image(path, params.images).image for path in paths]

        def fused() -> None:
            detections = detector.detect_paths(paths, params.images)
            failed = [d.error for d in detections if d.error]
            if failed:
                raise SystemExit(f"{len(failed)} files failed, e.g. {failed[0]}")

        def raw() -> None:
            predict_logits(detector.expert, images, detector.pixel_inference)
            score(detector.vlm, images, detector.prompt, detector.batch_size)

        times: dict[str, list[float]] = {"fused": [], "raw": []}
        for repeat in range(args.repeats + 1):
            for name, run in (("fused", fused), ("raw", raw)):
                start = time.perf_counter()
                run()
                if repeat:  # the first round warms up
                    times[name].append(time.perf_counter() - start)

    best = {name: min(values) for name, values in times.items()}
    spread = " | ".join(f"{name} " + " ".join(f"{t:.2f}" for t in values) for name, values in times.items())
    n = len(paths)
    print(f"{n} images ({half} generated, {n - half} real), {args.threads} thread(s), best of {args.repeats} [{spread} s]")
    print(f"detect_paths (decode + both branches + fusion) {n / best['fused']:7.1f} images/s")
    print(f"raw branch forwards (predict_logits + score)   {n / best['raw']:7.1f} images/s")
    print(f"overhead {100 * (best['fused'] / best['raw'] - 1):5.1f} % (target <= 20 %)")
    print(f"peak memory (maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
