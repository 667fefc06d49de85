"""Scoring: p_fake of each image, and the balanced accuracy of a labelled set.

p_fake is the softmax over the two logits of the answer tokens REAL and FAKE at the answer
position, the distribution the model would sample its first answer token from, restricted
to the two answers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from aligngemini.semantic.data import Collator, ImageLike
from aligngemini.semantic.model import FAKE, REAL, SemanticVLM


def answer_logits(vlm: SemanticVLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(rows, 2) float32 logits of REAL and FAKE at the last position of `batch` (a scoring
    batch from `Collator`: left-padded, stopping before the answer)."""
    inputs = {key: value.to(vlm.device) for key, value in batch.items()}
    logits = vlm.model(**inputs, logits_to_keep=1).logits[:, -1]  # only the answer position goes through lm_head
    return logits[:, list(vlm.answer_ids)].float()


def p_fake_of(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)[:, 1]


def score(
    vlm: SemanticVLM, images: Sequence[ImageLike], prompt: str, batch_size: int, workers: int = 0, progress: bool = False
) -> np.ndarray:
    """p_fake of every image, in order, as float64; the model runs in eval mode."""
    batcher = _Batcher(Collator(vlm.processor, prompt, vlm.answer_ids), labelled=False)
    return _score(vlm, images, batcher, batch_size, workers, progress)[0]


@torch.no_grad()
def _score(
    vlm: SemanticVLM, items: Sequence, batcher: "_Batcher", batch_size: int, workers: int, progress: bool
) -> tuple[np.ndarray, list[str]]:
    loader = DataLoader(items, batch_size=batch_size, collate_fn=batcher, num_workers=workers)
    was_training = vlm.model.training
    vlm.model.eval()
    scores, labels = [], []
    try:
        for batch, batch_labels in tqdm(loader, desc="semantic score", disable=not progress):
            scores.append(p_fake_of(answer_logits(vlm, batch)).cpu())
            labels += batch_labels
    finally:
        vlm.model.train(was_training)
    return (torch.cat(scores).double().numpy() if scores else np.zeros(0)), labels


class _Batcher:
    """Collates images, or (image, label) pairs keeping their labels aside, into scoring batches."""

    def __init__(self, collator: Collator, labelled: bool):
        self.collator, self.labelled = collator, labelled

    def __call__(self, items: Sequence) -> tuple[dict[str, torch.Tensor], list[str]]:
        if not self.labelled:
            return self.collator.unlabelled(items), []
        return self.collator.unlabelled([image for image, _ in items]), [label for _, label in items]


def classification_metrics(p_fake: np.ndarray, labels: Sequence[str], threshold: float) -> dict[str, float | int]:
    """Balanced accuracy = (real accuracy + fake accuracy) / 2 at `threshold` (fake when
    p_fake > threshold); an absent class counts as NaN and leaves the balanced accuracy NaN."""
    labels = np.asarray(labels)
    predicted_fake = np.asarray(p_fake) > threshold
    real, fake = labels == REAL, labels == FAKE
    real_accuracy = float(np.mean(~predicted_fake[real])) if real.any() else float("nan")
    fake_accuracy = float(np.mean(predicted_fake[fake])) if fake.any() else float("nan")
    return {
        "balanced_accuracy": (real_accuracy + fake_accuracy) / 2,
        "real_accuracy": real_accuracy,
        "fake_accuracy": fake_accuracy,
        "n_real": int(real.sum()),
        "n_fake": int(fake.sum()),
    }


def evaluate(
    vlm: SemanticVLM,
    dataset: Sequence[tuple[ImageLike, str]],
    prompt: str,
    batch_size: int,
    threshold: float,
    workers: int = 0,
    progress: bool = False,
) -> dict[str, float | int]:
    """`classification_metrics` of `dataset`'s (image, label) pairs, scored in one pass."""
    batcher = _Batcher(Collator(vlm.processor, prompt, vlm.answer_ids), labelled=True)
    p_fake, labels = _score(vlm, dataset, batcher, batch_size, workers, progress)
    return classification_metrics(p_fake, labels, threshold)
