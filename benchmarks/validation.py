"""Time of the Great Expectations validation of a clean synthetic manifest, per dataset.

Writes one empty file per row under a temporary data root, so the printed total includes
every expectation, the file-present check with it. The one-time import of Great
Expectations is timed apart; each dataset is validated twice (the first run also creates
its GX assets and suites).

    python benchmarks/validation.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

GENERATORS = ("vae-a", "vae-b")
HELD_OUT = "vae-held"


def synthetic_manifest(dataset: str, rows: int, data_dir: str) -> pd.DataFrame:
    """A clean manifest of `rows` rows (even) whose files lie under `data_dir`, 256 folders.

    Pixel: pairs (a real, its reconstruction), two pairs per group. Semantic: one group per
    image, reals and fakes alternating. Groups are dealt to splits 7:1:1:1; heldout rows
    come from the held-out generator.
    """
    index = np.arange(rows)
    sha = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(rows)]
    label = np.where(index % 2 == 0, "real", "fake")
    group = index // 4 if dataset == "pixel" else index // 2
    split = np.array(["train"] * 7 + ["val", "test", "heldout"])[group % 10]
    generator = np.where(split == "heldout", HELD_OUT, np.array(GENERATORS)[(index // 2) % 2])
    return pd.DataFrame(
        {
            "sha256": sha,
            "path": [f"{data_dir}/{digest[:2]}/{digest}.png" for digest in sha],
            "label": label,
            "dataset": dataset,
            "split": split,
            "group": [f"g{g}" for g in group],
            "generator": pd.Series(generator).where(label == "fake", None),
            "pair_id": [f"p{i // 2}" for i in index] if dataset == "pixel" else None,
            "transform": "jpeg95",
            "width": np.full(rows, 256, dtype="int32"),
            "height": np.full(rows, 192, dtype="int32"),
        }
    )


def write_files(paths: list[str], root: Path) -> None:
    """An empty file at each of `paths` (relative to `root`)."""
    for folder in {os.path.dirname(path) for path in paths}:
        os.makedirs(root / folder, exist_ok=True)
    for path in paths:
        os.close(os.open(root / path, os.O_CREAT | os.O_WRONLY, 0o644))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows // 4 * 4  # whole groups of two pairs

    start = time.perf_counter()
    import great_expectations  # noqa: F401

    seconds = time.perf_counter() - start
    print(f"import great_expectations: {seconds:.2f} s (once per process; pandas was imported before)")
    from aligngemini.datasets.validation import ValidationPolicy, validate_manifest

    with tempfile.TemporaryDirectory(prefix="bench-validation-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        manifests = {dataset: synthetic_manifest(dataset, rows, "data/images") for dataset in ("pixel", "semantic")}
        write_files(manifests["pixel"]["path"].tolist(), root)
        print(f"{rows} rows: manifests and files made in {time.perf_counter() - start:.1f} s")
        policy = ValidationPolicy(
            allowed_generators=frozenset((*GENERATORS, HELD_OUT)),
            balance_tolerance=0.05,
            min_side=16,
            max_side=4096,
            project_root=root,
            data_root=Path("data"),
        )
        for dataset, manifest in manifests.items():
            for attempt in ("first", "second"):
                start = time.perf_counter()
                report = validate_manifest(manifest, policy)
                seconds = time.perf_counter() - start
                stats = report.statistics
                print(
                    f"{dataset:8s} {attempt:6s} run: {seconds:5.2f} s, {rows / seconds:9,.0f} rows/s, "
                    f"{stats['evaluated_expectations']} expectations, success={report.success}"
                )
                if not report.success:
                    raise SystemExit(report.render())


if __name__ == "__main__":
    main()
