"""`aligngemini benchmark` in figures: its throughput against `detect` on the same files, and
its memory as the collection grows.

1. Throughput: `FusedDetector.detect_paths` (what `aligngemini detect` runs per file)
   against the benchmark's scoring (hashing, cache lookups and writes around the same
   detector; target >= 0.9x detect's images/s) and against the whole `run_benchmark`
   (also the metrics with `--bootstrap` resamples, the run folder and its catalog rows),
   on the same `--images` files, each on an empty score cache so every image is scored.
2. Memory: the peak resident set size (sampled every 0.2 s) of benchmarks of `--sizes`
   images, each on an empty cache. Flat means the growth per 1000 images is the rows of
   scores, not images.

Images are synthetic: seeded noise over colour gradients, 64 to 96 px, half in real/, half
in fake/ (their labels mean nothing; the figures here are costs). Model: the project's
fused folder (`make run` writes models/fused), or `--model-dir`.

    python benchmarks/benchmark_cmd.py [--params params.yaml] [--images 200] [--sizes 500 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from aligngemini.benchmark.collection import find_collection  # noqa: E402
from aligngemini.benchmark.run import run_benchmark  # noqa: E402
from aligngemini.benchmark.score import BenchmarkModel, Scorer  # noqa: E402
from aligngemini.evaluation.perturb import conditions  # noqa: E402
from aligngemini.fusion.detector import FusedDetector  # noqa: E402
from aligngemini.project import Project  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def write_collection(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        side = int(rng.integers(64, 97))
        ramp = np.linspace(0, 255, side)[None, :, None] * rng.uniform(0.2, 1.0, 3)
        pixels = np.clip(ramp + rng.normal(0, 25, (side, side, 3)), 0, 255).astype(np.uint8)
        path = folder / ("real" if index % 2 else "fake") / f"{index:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


class PeakRss:
    """The largest resident set size seen while the block runs, sampled by a thread."""

    def __enter__(self) -> "PeakRss":
        self.peak, self._done = self._rss(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, self._rss())

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="the project whose fused model (registry.path) is scored")
    parser.add_argument("--model-dir", type=Path, help="fused model folder (default: the project's registry.path)")
    parser.add_argument("--images", type=int, default=200, help="files of the throughput comparison")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000], help="collection sizes of the memory measurement")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples, as the command's default")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    project = Project.load(args.params)
    model_dir = args.model_dir or project.path(project.params.registry.path)
    model = BenchmarkModel("bench", "v0.0.0", model_dir)
    detector = FusedDetector.load(model_dir, project.root)

    with tempfile.TemporaryDirectory(prefix="bench-cmd-") as scratch:
        scratch = Path(scratch)
        paths = write_collection(scratch / "throughput", args.images)
        detector.detect_paths(paths[:8], project.params.images)  # warm-up

        start = time.perf_counter()
        detections = detector.detect_paths(paths, project.params.images)
        detect_s = time.perf_counter() - start
        failed = [d.error for d in detections if d.error]
        if failed:
            raise SystemExit(f"{len(failed)} files failed, e.g. {failed[0]}")

        def benchmark(name: str, root: Path) -> float:
            start = time.perf_counter()
            run_benchmark(
                name, [find_collection(root)], [model], [], out_root=scratch / "reports", catalog=scratch / f"{name}.duckdb",
                limits=project.params.images, load=lambda _: detector, n_bootstrap=args.bootstrap, progress=False,
            )  # fmt: skip
            return time.perf_counter() - start

        start = time.perf_counter()
        scorer = Scorer([model], conditions([]), scratch / "scoring.duckdb", project.params.images, lambda _: detector, progress=False)
        scorer.score(find_collection(scratch / "throughput").members)
        scoring_s = time.perf_counter() - start
        bench_s = benchmark("throughput", scratch / "throughput")
        n = len(paths)
        print(f"{n} synthetic images, {args.threads} thread(s), model {model_dir}")
        print(f"detect_paths                            {n / detect_s:7.1f} images/s ({detect_s:.1f} s)")
        print(f"benchmark scoring (hash, cache, detect) {n / scoring_s:7.1f} images/s ({scoring_s:.1f} s): {detect_s / scoring_s:.2f}x of detect (target >= 0.9x)")
        print(f"whole run_benchmark (+ metrics, report) {n / bench_s:7.1f} images/s ({bench_s:.1f} s, {args.bootstrap} resamples): {detect_s / bench_s:.2f}x of detect")

        peaks = {}
        for size in args.sizes:
            root = scratch / f"memory-{size}"
            write_collection(root, size, seed=size)
            with PeakRss() as rss:
                seconds = benchmark(f"memory-{size}", root)
            peaks[size] = rss.peak
            print(f"{size:>7} images: peak RSS {rss.peak / 2**20:7.0f} MiB ({size / seconds:.1f} images/s)")
        if len(peaks) > 1:
            (small, low), (large, high) = min(peaks.items()), max(peaks.items())
            print(f"growth {(high - low) / 2**20 / (large - small) * 1000:.1f} MiB per 1000 images")


if __name__ == "__main__":
    main()
