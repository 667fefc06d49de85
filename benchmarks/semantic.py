"""The semantic branch in figures, in one run, with the `semantic` section of the params file:

1. acceptance: trains the branch (`aligngemini.semantic.train.train`) on the train split of
   the semantic dataset and prints the wall time and the val metrics (balanced, real and
   fake accuracy at `semantic.threshold`);
2. throughput: training samples/s of `train` vs. a raw loop (forward, loss, backward,
   optimiser step) over the same batches collated beforehand; scoring images/s of `score`
   vs. raw forward passes over the same batches. The difference is what the branch adds
   (decoding, chat template, image processor, collation, progress, bookkeeping).

Needs the semantic dataset (`make run`), or `--proxy` for throughput only, on real-pool tiles
(see `proxy_dataset`), before the generators have run.

    python benchmarks/semantic.py [--params params.yaml] [--proxy] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from aligngemini.config import ImageLimits  # noqa: E402
from aligngemini.generation.pipelines import resolve_model  # noqa: E402
from aligngemini.images.loader import load_image  # noqa: E402
from aligngemini.manifest import read_manifest  # noqa: E402
from aligngemini.paths import resolve_inside  # noqa: E402
from aligngemini.semantic.config import SemanticConfig  # noqa: E402
from aligngemini.semantic.data import Collator, read_split  # noqa: E402
from aligngemini.semantic.model import attach_lora, load_vlm  # noqa: E402
from aligngemini.semantic.score import score  # noqa: E402
from aligngemini.semantic.train import train  # noqa: E402

Pairs = list[tuple[Image.Image, str]]


def proxy_dataset(root: Path, raw: dict, size: int) -> Pairs:
    """`size` tiles of the real pool at 64 px (the semantic dataset's size) with alternating
    labels: the cost of a step does not depend on what the images show."""
    limits = ImageLimits.model_validate(raw["images"])
    data_root = root / raw["paths"]["data_root"]
    rows = [r for r in read_manifest(data_root / "real" / "manifest.parquet") if r["parent_sha256"]]
    tiles = [load_image(resolve_inside(data_root, r["path"], base=root), limits).image for r in rows[:size]]
    return [(tiles[i % len(tiles)].resize((64, 64), Image.BICUBIC), "fake" if i % 2 else "real") for i in range(size)]


def acceptance(source: str, config: SemanticConfig, train_set, val_set) -> None:
    start = time.perf_counter()
    result = train(load_vlm(source, config.dtype, config.device, config.revision), train_set, config, val_set, progress=False)
    wall = time.perf_counter() - start
    m = result.metrics
    print(f"training        {len(train_set)} images x {config.train.epochs} epochs: {wall:.1f} s wall (validation each epoch included; target <= 480 s)")
    print(f"val ({m['n_real']} real, {m['n_fake']} fake)  balanced accuracy {m['balanced_accuracy']:.3f}  real {m['real_accuracy']:.3f}  fake {m['fake_accuracy']:.3f}  (target >= 0.80)")
    print("val balanced accuracy per epoch: " + " ".join(f"{row['val_balanced_accuracy']:.2f}" for row in result.epochs))


def _raw_train_seconds(source: str, config: SemanticConfig, batches: list[dict]) -> float:
    """Forward, answer loss, backward, clipping and AdamW step over pre-collated batches."""
    vlm = attach_lora(load_vlm(source, config.dtype, config.device, config.revision), config.lora, config.train.seed)
    trainable = [p for p in vlm.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.train.learning_rate)
    vlm.model.train()
    start = time.perf_counter()
    for batch in batches:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = vlm.model(**inputs, logits_to_keep=2).logits[:, 0]
        F.cross_entropy(logits.float(), batch["labels"][:, -1]).backward()
        torch.nn.utils.clip_grad_norm_(trainable, config.train.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def throughput(source: str, config: SemanticConfig, train_set, images, repeats: int) -> None:
    # one epoch, no accumulation, no validation: the same optimiser steps for both
    bench = config.model_copy(update={"train": config.train.model_copy(update={"epochs": 1, "grad_accumulation": 1})})
    vlm = load_vlm(source, config.dtype, config.device, config.revision)
    collator = Collator(vlm.processor, config.prompt, vlm.answer_ids)
    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(config.train.seed)).tolist()
    size = bench.train.batch_size
    on_device = lambda batch: {key: value.to(config.device) for key, value in batch.items()}  # noqa: E731
    train_batches = [on_device(collator([train_set[i] for i in order[j : j + size]])) for j in range(0, len(order), size)]
    branch_train, raw_train = [], []
    for _ in range(repeats):  # interleaved, best of: the machine is shared
        branch_train.append(train(load_vlm(source, config.dtype, config.device, config.revision), train_set, bench, progress=False).seconds)
        raw_train.append(_raw_train_seconds(source, bench, train_batches))

    size = config.eval_batch_size
    score_batches = [on_device(collator.unlabelled(images[j : j + size])) for j in range(0, len(images), size)]
    branch_score, raw_score = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        score(vlm, images, config.prompt, size)
        branch_score.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            for batch in score_batches:
                vlm.model(**batch, logits_to_keep=1)
        raw_score.append(time.perf_counter() - start)

    print(f"throughput, best of {repeats} (seconds of each repeat in brackets):")
    for name, unit, count, branch, raw in (
        ("training", "samples/s", len(train_set), branch_train, raw_train),
        ("scoring", "images/s", len(images), branch_score, raw_score),
    ):
        spread = f"[{' '.join(f'{t:.2f}' for t in branch)} | {' '.join(f'{t:.2f}' for t in raw)}]"
        print(
            f"{name:9s} branch {count / min(branch):7.1f} {unit}   raw {count / min(raw):7.1f} {unit}   "
            f"overhead {100 * (min(branch) / min(raw) - 1):5.1f} % (target <= 15 %)  {spread}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--proxy", action="store_true", help="throughput only, on real-pool tiles")
    parser.add_argument("--proxy-size", type=int, default=256, help="images in the proxy set")
    parser.add_argument("--threads", type=int, help="torch threads (default: semantic.threads)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each throughput measurement")
    parser.add_argument("--skip-training", action="store_true", help="throughput only")
    args = parser.parse_args()
    params = Path(args.params).resolve()
    root, raw = params.parent, yaml.safe_load(params.read_text())
    if "semantic" not in raw:
        raise SystemExit(f"{params} has no 'semantic' section")
    config = SemanticConfig.model_validate(raw["semantic"])
    torch.set_num_threads(args.threads or config.threads)
    source = resolve_model(config.model, root)
    manifest = root / raw["paths"]["data_root"] / "datasets" / "semantic" / "manifest.parquet"
    if args.proxy:
        train_set = val_set = proxy_dataset(root, raw, args.proxy_size)
        print(f"proxy set of {len(train_set)} real-pool tiles at 64 px (throughput only)")
    elif manifest.is_file():
        limits, data_root = ImageLimits.model_validate(raw["images"]), root / raw["paths"]["data_root"]
        (train_set, bad_train), (val_set, bad_val) = (read_split(manifest, {s}, data_root, root, limits) for s in ("train", "val"))
        print(f"semantic dataset {manifest}: {len(train_set)} train, {len(val_set)} val images ({len(bad_train) + len(bad_val)} unreadable)")
    else:
        raise SystemExit(f"no semantic dataset at {manifest}: run `make run` first, or pass --proxy")
    print(f"model {source}, {torch.get_num_threads()} torch threads, batch {config.train.batch_size}, eval batch {config.eval_batch_size}")
    if not (args.skip_training or args.proxy):
        acceptance(source, config, train_set, val_set)
    images = [val_set[i % len(val_set)][0] for i in range(max(len(val_set), 16 * config.eval_batch_size))]
    throughput(source, config, train_set, images, args.repeats)


if __name__ == "__main__":
    main()
