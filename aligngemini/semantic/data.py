"""The semantic dataset as model inputs: manifest rows to lazily decoded images, and batches
of images (with their answers when training) to padded model inputs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from aligngemini.config import ImageLimits
from aligngemini.errors import AlignGeminiError, FileProblem
from aligngemini.images.loader import load_image
from aligngemini.manifest import read_manifest
from aligngemini.paths import resolve_inside
from aligngemini.semantic.model import LABELS

ImageLike = Image.Image | np.ndarray  # RGB; arrays are uint8 HxWx3
IGNORE = -100  # label of every position the loss skips (PyTorch's cross-entropy ignore_index)
_VISION_KEYS = ("pixel_values", "image_grid_thw")  # what the image processor returns; the rest is per token


def prompt_messages(prompt: str) -> list[dict]:
    """One user turn: the image, then the question."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


class Collator:
    """Batches `(image, label)` items, label in LABELS or None, into model inputs.

    Every sequence is the chat-templated prompt up to the assistant's turn, left-padded so the
    answer position is the last one for every row whatever the image sizes. With labels, the
    answer token is appended and `labels` is IGNORE everywhere but there: the loss covers the
    answer only. Without labels (scoring) the sequence stops before the answer.

    The result equals the processor's own `processor(images, texts, padding_side="left")`,
    but the text half (template expansion to one placeholder per image token, tokenization,
    token types), which depends on an image only through its patch grid, runs once per grid:
    at the embedded model's size it would otherwise cost a sixth of a forward pass."""

    def __init__(self, processor, prompt: str, answer_ids: tuple[int, int]):
        self.processor = processor
        self.text = processor.apply_chat_template(prompt_messages(prompt), add_generation_prompt=True, tokenize=False)
        self.answer_ids = dict(zip(LABELS, answer_ids))
        self._pad_id = processor.tokenizer.pad_token_id
        self._text_rows: dict[tuple[int, ...], dict[str, torch.Tensor]] = {}

    def _text_row(self, image: ImageLike, grid: torch.Tensor) -> dict[str, torch.Tensor]:
        key = tuple(grid.tolist())
        if key not in self._text_rows:
            encoded = self.processor(images=[image], text=[self.text], return_tensors="pt")
            self._text_rows[key] = {name: value[0] for name, value in encoded.items() if name not in _VISION_KEYS}
        return self._text_rows[key]

    def __call__(self, items: Sequence[tuple[ImageLike, str | None]]) -> dict[str, torch.Tensor]:
        images = [image for image, _ in items]
        labels = [label for _, label in items]
        if not (all(label is None for label in labels) or all(label in self.answer_ids for label in labels)):
            got = sorted(set(map(str, labels)))
            raise AlignGeminiError(f"labels must all be one of {LABELS} (or all None to score): got {got}")
        batch = dict(self.processor.image_processor(images=images, return_tensors="pt"))
        rows = [self._text_row(image, grid) for image, grid in zip(images, batch["image_grid_thw"])]
        width = max(len(row["input_ids"]) for row in rows)
        for name in rows[0]:
            fill = self._pad_id if name == "input_ids" else 0  # masked out, and not an image token
            batch[name] = torch.stack([F.pad(row[name], (width - len(row[name]), 0), value=fill) for row in rows])
        if labels[0] is None:
            return batch
        answers = torch.tensor([[self.answer_ids[label]] for label in labels])
        extras = {"input_ids": answers, "attention_mask": torch.ones_like(answers)}  # other per-token keys: 0, a text token
        for name in rows[0]:
            batch[name] = torch.cat([batch[name], extras.get(name, torch.zeros_like(answers)).to(batch[name].dtype)], dim=1)
        batch["labels"] = torch.cat([torch.full((len(labels), width), IGNORE), answers], dim=1)
        return batch

    def unlabelled(self, images: Sequence[ImageLike]) -> dict[str, torch.Tensor]:
        return self([(image, None) for image in images])


@dataclass(frozen=True)
class ManifestImages(Sequence[tuple[Image.Image, str]]):
    """(image, label) pairs of manifest rows, decoded on access with the defensive loader;
    `rows` keeps each row (sha256, path, label, split, generator, ...) in the same order."""

    rows: tuple[dict, ...]
    paths: tuple[Path, ...]
    limits: ImageLimits

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]  (int only: a DataLoader indexes one item at a time)
        return load_image(self.paths[index], self.limits).image, self.rows[index]["label"]


def read_split(
    manifest: Path, splits: Collection[str], data_root: Path, project_root: Path, limits: ImageLimits
) -> tuple[ManifestImages, list[FileProblem]]:
    """The rows of `manifest` in `splits` whose image decodes, and a problem per row that
    does not (unsafe path, missing or corrupt file): those are left out, so one bad file
    never stops a run, and the caller can quarantine them. Every image is decoded once here."""
    rows, paths, problems = [], [], []
    for row in read_manifest(manifest):
        if row["split"] not in splits:
            continue
        if row["label"] not in LABELS:
            raise AlignGeminiError(f"{manifest}: row {row['sha256']} has label {row['label']!r}, not one of {LABELS}")
        try:
            path = resolve_inside(data_root, row["path"], base=project_root)
            load_image(path, limits)
        except FileProblem as problem:
            problems.append(problem)
            continue
        rows.append(row)
        paths.append(path)
    return ManifestImages(tuple(rows), tuple(paths), limits), problems
