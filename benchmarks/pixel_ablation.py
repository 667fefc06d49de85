"""Ablation of the pixel-artifact expert: what each ingredient of its recipe buys on the
held-out families (decoders and generators no branch trained on), the figure the
leave-one-family-out evaluation leads with.

Each variant edits the params' setup (which training reconstructors the pixel pairs' fakes
come from, how the pairs are aligned, and the `pixel` config), builds that pixel dataset, trains the expert and scores
the pixel branch alone as `flows.evaluate` scores it: the matched evaluation images of the
datasets' split plan, every held-out family and the in-distribution `test` fakes each
against the `test` reals, clean and under the other `evaluation.generalisation_conditions`.
Adding a variant is adding an entry to `VARIANTS`.

Reads the stage manifests of `dvc repro` (real, generated, reconstructions) and never
writes into the project: datasets and any reconstruction the stage did not make (e.g.
recon-vae's of every tile, for "one reconstructor") go to a temporary directory.
Train seconds are the wall time of `train_pixel_expert`, which includes its per-epoch
validation pass and final val/test metrics.

    python benchmarks/pixel_ablation.py [--params params.yaml] [--variants "no mixing,one reconstructor"] [--epochs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from aligngemini.config import PixelDatasetConfig  # noqa: E402
from aligngemini.datasets.pixel import build_pixel_dataset  # noqa: E402
from aligngemini.datasets.splits import plan_splits  # noqa: E402
from aligngemini.evaluation.images import EvalImage, evaluation_images, matched  # noqa: E402
from aligngemini.evaluation.perturb import conditions  # noqa: E402
from aligngemini.evaluation.scoring import score_conditions  # noqa: E402
from aligngemini.evaluation.summary import summarise  # noqa: E402
from aligngemini.manifest import read_manifest  # noqa: E402
from aligngemini.pixel.config import PixelConfig  # noqa: E402
from aligngemini.pixel.infer import p_fake  # noqa: E402
from aligngemini.pixel.model import PixelExpert  # noqa: E402
from aligngemini.pixel.train import train_pixel_expert  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from aligngemini.reconstruction.jobs import ReconPlan, batch_jobs, native_size, plan_reconstructions, reconstruct_jobs  # noqa: E402
from aligngemini.reconstruction.vae import load_reconstructor  # noqa: E402

DETECTOR = "pixel"


@dataclasses.dataclass(frozen=True)
class Setup:
    reconstructors: tuple[str, ...]  # the training reconstructors drawn among per tile (rendezvous hashing)
    dataset: PixelDatasetConfig  # the pairs' alignment (datasets.pixel)
    pixel: PixelConfig


def _augment(**update) -> Callable[[Setup], Setup]:
    def edit(setup: Setup) -> Setup:
        augment = setup.pixel.augment.model_copy(update=update)
        return dataclasses.replace(setup, pixel=setup.pixel.model_copy(update={"augment": augment}))

    return edit


def _align(**update) -> Callable[[Setup], Setup]:
    return lambda setup: dataclasses.replace(setup, dataset=setup.dataset.model_copy(update=update))


# (name, edit of the params' setup). Each sets what it names, whatever the params say, so a
# variant that the params already are scores like the baseline (the params as they are).
VARIANTS: list[tuple[str, Callable[[Setup], Setup]]] = [
    ("params", lambda setup: setup),
    # one decoder: every real tile is paired with recon-vae's native reconstruction
    ("one reconstructor", lambda setup: dataclasses.replace(setup, reconstructors=("recon-vae",))),
    ("per-pair augmentation", _augment(paired=True)),
    ("per-image augmentation", _augment(paired=False)),
    ("no mixing", _augment(pixel_mix_probability=0.0, freq_mix_probability=0.0)),
    ("sharpness matching", _align(sharpness_tolerance=0.05)),
    ("no sharpness matching", _align(sharpness_tolerance=None)),
]


class PixelOnly:
    """The pixel branch as the evaluation's scorer; the semantic column is a placeholder."""

    def __init__(self, expert: PixelExpert, config: PixelConfig):
        self.expert, self.config = expert, config

    def branch_scores(self, images: Sequence[Image.Image], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return p_fake(self.expert, images, self.config.inference, names).astype(np.float64), np.zeros(len(images))


class Workspace:
    """The project's stage outputs plus a scratch project (same params) for what this run
    makes. Stores are content-addressed, so a path names the same pixels in either tree:
    `load` reads the scratch copy when there is one, else the project's."""

    def __init__(self, project: Project, scratch: Path):
        self.project, self.scratch = project, Project(scratch, project.params)
        self.real = read_manifest(project.manifest("real"))
        self.generated = read_manifest(project.manifest("generated"))
        self.recons = read_manifest(project.manifest("reconstruction"))
        datasets = project.params.datasets
        # the plan of flows.build_datasets, so every variant keeps the pipeline's splits
        self.splits = plan_splits([*self.real, *self.generated], datasets.split_fractions, datasets.seed, datasets.heldout_generators)
        self.datasets: dict[tuple[tuple[str, ...], str], tuple[list[dict], dict]] = {}

    def load(self, path: str) -> Image.Image:
        owner = self.scratch if (self.scratch.root / path).is_file() else self.project
        return owner.load_image(path)

    def pixel_rows(self, reconstructors: tuple[str, ...], config: PixelDatasetConfig) -> tuple[list[dict], dict]:
        """The pixel dataset's rows whose fakes come from `reconstructors`, aligned by `config`
        (built once per pair of them), and how it was made."""
        key = (reconstructors, config.model_dump_json())
        if key not in self.datasets:
            self.datasets[key] = self._build(reconstructors, config)
        return self.datasets[key]

    def _build(self, reconstructors: tuple[str, ...], config: PixelDatasetConfig) -> tuple[list[dict], dict]:
        params = self.project.params
        started = time.perf_counter()
        recon_rows, made = self._native_reconstructions(reconstructors)
        reconstructed = time.perf_counter() - started
        built = build_pixel_dataset(
            self.real, recon_rows, self.splits, config, params.datasets.seed, self.scratch.dataset_store("pixel"),
            lambda row: self.load(row["path"]), created_at=_now(), heldout_reconstructors=params.datasets.heldout_reconstructors,
        )  # fmt: skip
        pairs = {split: sum(1 for row in built.rows if row["split"] == split and row["label"] == "real") for split in sorted(set(self.splits.values()))}
        info = {"reconstructors": list(reconstructors), "pairs": pairs, "reconstructed": made, "reconstruct_seconds": reconstructed,
                "build_seconds": time.perf_counter() - started - reconstructed}  # fmt: skip
        _log(f"pixel dataset of {', '.join(reconstructors)}: {pairs} pairs, {made} tiles reconstructed here")
        return built.rows, info

    def _native_reconstructions(self, reconstructors: tuple[str, ...]) -> tuple[list[dict], int]:
        """One native-size reconstruction per tile by the reconstructor the reconstruct stage's
        draw gives it among `reconstructors`: the stage's own where it made it, else made here."""
        params = self.project.params
        cfg = params.reconstruction
        plan = dataclasses.replace(ReconPlan.from_params(params, self.real), training=reconstructors, heldout=())
        tiles = {row["sha256"]: row for row in self.real}
        # the native-size jobs, and a semantic one standing for the native job of its tile
        jobs = [job for job in plan_reconstructions(self.real, [], plan) if job.size == native_size(tiles[job.parent_sha256])]
        have = {(row["parent_sha256"], row["transform"]): row for row in self.recons}
        missing = [job for job in jobs if job.key not in have]
        for batch in batch_jobs(missing, cfg.batch_size):
            entry = cfg.reconstructor(batch[0].reconstructor)
            vae = load_reconstructor(entry, self.project.root, device=self.project.params.reconstruction.device, dtype=self.project.params.reconstruction.dtype)
            records = reconstruct_jobs(vae, batch, self.load, self.scratch.store("reconstruction"), cfg.seed, cfg.batch_size, _now(), None)
            have.update({(r.parent_sha256, r.transform): r.to_row() for r in records})
        # only the planned rows: native_reconstructions would otherwise prefer another source's
        return [have[job.key] for job in jobs], len(missing)


def evaluate(expert: PixelExpert, config: PixelConfig, images: Sequence[EvalImage], load: Callable[[EvalImage], Image.Image], params) -> dict:
    """Pixel-branch metrics per held-out family and on `test`, under each generalisation condition."""
    names = params.evaluation.generalisation_conditions
    grid = [condition for condition in conditions(params.evaluation.perturbations) if condition[0] in names]
    scores, _ = score_conditions(PixelOnly(expert, config), images, load, grid, params.evaluation.batch_size, config.inference.min_side)
    evaluation = summarise(scores, [DETECTOR], params.evaluation.threshold, [name for name, _ in grid])
    families = {
        family: {"kind": figures["kind"], **{name: figures[name][DETECTOR] for name in names}}
        for family, figures in evaluation.generalisation(names).items()
    }
    return {"families": families, "test": {name: evaluation.metrics["test"][name][DETECTOR] for name in names}}


def table(results: list[dict], conditions_: Sequence[str]) -> str:
    """Markdown: one row per variant; bal.acc cells read `<clean> / <other conditions>`."""
    families = list(results[0]["families"]) if results else []
    accuracy = " / ".join(conditions_)
    header = ["variant", "train s"] + [cell for f in families for cell in (f"{f} bal.acc ({accuracy})", f"{f} AUROC {conditions_[0]}")] + [f"test bal.acc ({accuracy})"]

    def accuracies(metrics: Mapping[str, dict]) -> str:
        return " / ".join(_figure(metrics[name]["balanced_accuracy"]) for name in conditions_)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for result in results:
        cells = [result["variant"], f"{result['train_seconds']:.0f}"]
        for family in families:
            metrics = result["families"][family]
            cells += [accuracies(metrics), _figure(metrics[conditions_[0]]["roc_auc"])]
        cells.append(accuracies(result["test"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="project whose stage manifests are read")
    parser.add_argument("--variants", help=f"comma-separated names, in this order (default: all of {', '.join(n for n, _ in VARIANTS)})")
    parser.add_argument("--epochs", type=int, help="override pixel.epochs (a quick check)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()

    known = dict(VARIANTS)
    chosen = [name.strip() for name in args.variants.split(",")] if args.variants else list(known)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(known)}")

    project = Project.load(args.params)
    params = project.params
    torch.set_num_threads(params.pixel.threads)
    pixel = params.pixel if args.epochs is None else params.pixel.model_copy(update={"epochs": args.epochs})
    baseline = Setup(tuple(params.training_reconstructors()), params.datasets.pixel, pixel)
    names = list(params.evaluation.generalisation_conditions)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pixel-ablation-") as scratch:
        work = Workspace(project, Path(scratch))
        families = {entry.name: entry.family for entry in params.reconstruction.reconstructors}
        families |= {entry.name: entry.family or entry.name for entry in params.generators}
        selection = evaluation_images(
            work.real, work.generated, work.recons, split_fractions=params.datasets.split_fractions, seed=params.datasets.seed,
            heldout_generators=params.datasets.heldout_generators, heldout_reconstructors=params.datasets.heldout_reconstructors,
            families=families, size=params.evaluation.image_size,
        )  # fmt: skip
        # val is the fusion's; the evaluation pairs every fake set with the test reals
        images = [image for image in selection.images if image.split != "val"]
        cache: dict[str, Image.Image] = {}  # matched pixels, decoded once for every variant

        def load_matched(image: EvalImage) -> Image.Image:
            if image.sha256 not in cache:
                cache[image.sha256] = matched(image, project.load_image(image.path))
            return cache[image.sha256]

        for name in chosen:
            setup = known[name](baseline)
            rows, dataset = work.pixel_rows(setup.reconstructors, setup.dataset)
            _log(f"{name}: training {setup.pixel.epochs} epoch(s) on {dataset['pairs'].get(setup.pixel.train_split, 0)} pairs")
            started = time.perf_counter()
            trained = train_pixel_expert(rows, work.load, setup.pixel, progress=False)
            seconds = time.perf_counter() - started
            figures = evaluate(trained.expert, setup.pixel, images, load_matched, params)
            results.append({"variant": name, "train_seconds": seconds, **figures, "dataset": dataset, "pixel_dataset_metrics": trained.metrics})
            _log(f"{name}: trained in {seconds:.0f} s")

    print(f"pixel branch alone, {pixel.epochs} epoch(s); held-out families and test vs the test reals; threshold {params.evaluation.threshold}")
    print(table(results, names))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"epochs": pixel.epochs, "conditions": names, "variants": results}, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
