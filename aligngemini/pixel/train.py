"""Training and evaluation of the pixel expert on the pixel-artifact dataset only.

Recipe: each step takes `batch_size` pairs and gives the expert both crops of each pair,
and of its resized copies when drawn (augmented by `aligngemini.pixel.augment`), so every
batch is balanced and every fake sits next to the real it differs from only in decoder
traces. Loss: BCE with logits (fake = 1).
AdamW over the trainable parameters (all of them for efficientnet_lite0, the LoRA adapters
and the head for timm_vit_lora), linear warm-up then cosine decay to zero. The model of
the last epoch is returned: no selection on the validation split, which stays an honest
estimate.

Placement: the expert trains on `device` with its forward passes under autocast in `dtype`
(float32 master weights; float16 adds a gradient scaler), and optionally with gradient
checkpointing; its per-epoch validation runs the same way.

Determinism: torch's global seed is set to `seed` before the expert is built (head and
random init, dropout); shuffling and augmentation draw from generators seeded by
`(seed, epoch, ...)`; intra-op threads are fixed to `threads` for the duration.

Metrics use the inference rule (`aligngemini.pixel.infer`) on whole images of the
evaluated split at `inference.threshold`: balanced accuracy = (real accuracy + fake
accuracy) / 2, and the same after JPEG re-encoding at `eval_jpeg_quality`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.utils.data import DataLoader
from tqdm import tqdm

from aligngemini.datasets.align import jpeg
from aligngemini.pixel.config import PixelConfig
from aligngemini.pixel.data import AugmentedPairs, Load, Pair, collate_pairs, pairs_of_split, shuffled, splits_present
from aligngemini.pixel.infer import predict_logits
from aligngemini.pixel.model import PixelExpert, build_expert


@dataclass
class TrainResult:
    expert: PixelExpert
    history: list[dict]  # one row per epoch (a DVC plot)
    metrics: dict[str, dict]  # per evaluated split, clean and after JPEG (DVC metrics)


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_pixel_expert(
    rows: Iterable[Mapping], load: Load, config: PixelConfig, *, progress: bool = True, init: PixelExpert | None = None
) -> TrainResult:
    """Train on `config.train_split` of the pixel manifest `rows`, measure the first eval
    split after each epoch and every eval split present at the end. `init` (an expert of the
    same config, e.g. production's) warm-starts the weights instead of `config.backbone`."""
    rows = list(rows)
    train_pairs = pairs_of_split(rows, config.train_split)
    if not train_pairs:
        raise ValueError(f"pixel manifest has no pairs in the training split '{config.train_split}'")
    present = splits_present(rows)
    eval_pairs = {split: pairs_of_split(rows, split) for split in config.eval_splits if split in present}
    watch = next(iter(eval_pairs.values()), None)

    with torch_threads(config.threads):
        torch.manual_seed(config.seed)
        expert = build_expert(config, pretrained=False if init is not None else None)
        if init is not None:
            expert.load_state_dict(init.state_dict(), strict=True)
        expert.place(config.device, config.dtype)
        if config.gradient_checkpointing:
            expert.set_grad_checkpointing()
        dataset = AugmentedPairs(train_pairs, load, config.augment, config.crop_size, config.seed)
        steps_per_epoch = math.ceil(len(train_pairs) / config.batch_size)
        trainable = [p for p in expert.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, warmup_cosine(config.epochs * steps_per_epoch, config.warmup_fraction)
        )
        history = []
        for epoch in range(config.epochs):
            dataset.epoch = epoch
            loss, accuracy = _train_epoch(expert, dataset, optimiser, schedule, config, epoch, progress)
            row = {"epoch": epoch + 1, "train_loss": loss, "train_accuracy": accuracy, "lr": schedule.get_last_lr()[0]}
            if watch is not None:
                scores = evaluate(expert, watch, load, config)
                row.update({f"val_{key}": value for key, value in scores.items() if key != "pairs"})
            history.append(row)
        metrics = {split: evaluate_with_jpeg(expert, pairs, load, config) for split, pairs in eval_pairs.items()}
    return TrainResult(expert.eval(), history, metrics)


def warmup_cosine(total_steps: int, warmup_fraction: float):
    """LR multiplier of step s: linear up to 1 over the warm-up, then cosine down to 0."""
    warmup = math.floor(total_steps * warmup_fraction)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _train_epoch(expert, dataset, optimiser, schedule, config: PixelConfig, epoch: int, progress: bool) -> tuple[float, float]:
    order = shuffled(len(dataset), config.seed, epoch)
    loader = DataLoader(
        dataset, batch_size=config.batch_size, sampler=order, collate_fn=collate_pairs,
        num_workers=config.num_workers, generator=torch.Generator().manual_seed(config.seed),
    )  # fmt: skip
    expert.train()
    scaler = torch.amp.GradScaler(expert.device.type, enabled=config.dtype == "float16")
    total_loss = correct = seen = 0.0
    bar = tqdm(loader, desc=f"pixel epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
    for crops, labels in bar:
        labels = labels.to(expert.device)
        logits = expert(crops)
        loss = binary_cross_entropy_with_logits(logits, labels)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()
        schedule.step()
        total_loss += loss.item() * len(labels)
        correct += ((logits.detach() > 0).float() == labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f"{loss.item():.4f}")
    return total_loss / seen, correct / seen


def evaluate(expert: PixelExpert, pairs: list[Pair], load: Load, config: PixelConfig, jpeg_quality: int | None = None) -> dict:
    """Balanced, real and fake accuracy and BCE loss of the inference rule on the whole
    images of `pairs`, optionally after JPEG re-encoding at `jpeg_quality`."""
    paths = [path for pair in pairs for path in (pair.real_path, pair.fake_path)]
    images = (load(path) for path in paths)
    if jpeg_quality is not None:
        images = (jpeg(image, jpeg_quality)[0] for image in images)
    logits = torch.from_numpy(predict_logits(expert, images, config.inference, names=paths))
    labels = torch.tensor([0.0, 1.0] * len(pairs))
    called_fake = torch.sigmoid(logits) > config.inference.threshold
    real_accuracy = (~called_fake[labels == 0]).float().mean().item()
    fake_accuracy = called_fake[labels == 1].float().mean().item()
    return {
        "balanced_accuracy": (real_accuracy + fake_accuracy) / 2,
        "real_accuracy": real_accuracy,
        "fake_accuracy": fake_accuracy,
        "loss": binary_cross_entropy_with_logits(logits, labels).item(),
        "pairs": len(pairs),
    }


def evaluate_with_jpeg(expert: PixelExpert, pairs: list[Pair], load: Load, config: PixelConfig) -> dict:
    """`evaluate` on the images as they are, with the same again after JPEG re-encoding
    under `jpeg_q<quality>`."""
    quality = config.eval_jpeg_quality
    return {**evaluate(expert, pairs, load, config), f"jpeg_q{quality}": evaluate(expert, pairs, load, config, quality)}
