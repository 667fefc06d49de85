"""LoRA fine-tuning of the VLM to answer REAL or FAKE, on the semantic dataset only."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from aligngemini.semantic.config import SemanticConfig, SemanticTrainConfig
from aligngemini.semantic.data import IGNORE, Collator, ImageLike
from aligngemini.semantic.model import SemanticVLM, attach_lora, load_trainable_adapter
from aligngemini.semantic.score import evaluate


@dataclass(frozen=True)
class TrainResult:
    vlm: SemanticVLM  # with the trained adapter attached, in eval mode
    steps: list[dict]  # one per optimiser step: step, epoch (fractional), loss, lr
    epochs: list[dict]  # one per epoch: epoch, train_loss, and val_* metrics when a val set is given
    metrics: dict  # final val metrics (balanced/real/fake accuracy, n_real, n_fake); empty without a val set
    seconds: float  # wall time of the optimisation, per-epoch validation excluded
    samples: int  # training samples seen (epochs x training set size)


def answer_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed cross-entropy over the labelled (answer) positions of a training batch. Left padding puts every answer in the last columns, so only the positions
    from the one before the first answer column go through lm_head."""
    labels = batch["labels"]
    first = int((labels != IGNORE).any(dim=0).nonzero().min())
    keep = labels.shape[1] - first + 1
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    logits = model(**inputs, logits_to_keep=keep).logits[:, :-1]  # position t predicts token t + 1
    targets = labels[:, first:]
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE, reduction="sum")


def _schedule(step: int, total: int, warmup_ratio: float) -> float:
    warmup = max(1, math.ceil(total * warmup_ratio))
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(
    vlm: SemanticVLM,
    train_set: Sequence[tuple[ImageLike, str]],
    config: SemanticConfig,
    val_set: Sequence[tuple[ImageLike, str]] | None = None,
    progress: bool = True,
    init_adapter: str | Path | None = None,
) -> TrainResult:
    """Attach fresh LoRA adapters to the base `vlm` and train them (and `modules_to_save`) on
    `train_set`'s (image, label) pairs: AdamW, linear warm-up then cosine decay, gradient
    accumulation, clipping. Each optimiser step averages the loss over all answer tokens of
    its micro-batches, so accumulating k batches of n equals one batch of k x n. With
    `val_set`, every epoch ends with its metrics at `config.threshold`. Peft modifies the
    base model of `vlm` in place: load a fresh one per training run. `init_adapter` (a saved
    adapter of the same base, e.g. production's) warm-starts the adapters and
    `modules_to_save` instead of fresh ones."""
    tc: SemanticTrainConfig = config.train
    if tc.gradient_checkpointing:
        vlm.model.activation_checkpointing_enable({"use_reentrant": False})  # reentrant would drop grads of frozen inputs
    vlm = attach_lora(vlm, config.lora, tc.seed) if init_adapter is None else load_trainable_adapter(vlm, init_adapter)
    model = vlm.model
    loader = DataLoader(
        train_set,
        batch_size=tc.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(tc.seed),
        collate_fn=Collator(vlm.processor, config.prompt, vlm.answer_ids),
        num_workers=tc.loader_workers,
    )
    steps_per_epoch = math.ceil(len(loader) / tc.grad_accumulation)
    total = steps_per_epoch * tc.epochs
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=tc.learning_rate, weight_decay=tc.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _schedule(step, total, tc.warmup_ratio))
    steps: list[dict] = []
    epochs: list[dict] = []
    metrics: dict = {}
    seconds = 0.0
    bar = tqdm(total=total, desc="semantic train", unit="step", disable=not progress)
    for epoch in range(tc.epochs):
        started = time.perf_counter()
        model.train()
        batches = iter(loader)
        epoch_loss, epoch_tokens = 0.0, 0
        for _ in range(steps_per_epoch):
            group = [{key: value.to(vlm.device) for key, value in batch.items()} for batch in islice(batches, tc.grad_accumulation)]
            tokens = sum(int((batch["labels"] != IGNORE).sum()) for batch in group)
            step_loss = 0.0
            for batch in group:
                loss = answer_loss(model, batch)
                (loss / tokens).backward()
                step_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(trainable, tc.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            epoch_loss, epoch_tokens = epoch_loss + step_loss, epoch_tokens + tokens
            steps.append({"step": len(steps) + 1, "epoch": (len(steps) + 1) / steps_per_epoch, "loss": step_loss / tokens, "lr": lr})
            bar.update()
            bar.set_postfix(epoch=epoch + 1, loss=f"{step_loss / tokens:.4f}")
        seconds += time.perf_counter() - started
        record = {"epoch": epoch + 1, "train_loss": epoch_loss / epoch_tokens}
        if val_set is not None:
            metrics = evaluate(vlm, val_set, config.prompt, config.eval_batch_size, config.threshold, tc.loader_workers)
            record |= {f"val_{name}": value for name, value in metrics.items()}
        epochs.append(record)
    bar.close()
    model.eval()
    return TrainResult(vlm, steps, epochs, metrics, seconds, tc.epochs * len(train_set))
