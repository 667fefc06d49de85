"""Batches: chat-templated, left-padded, with labels on the answer token only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aligngemini.errors import AlignGeminiError
from aligngemini.semantic.data import IGNORE, Collator
from aligngemini.semantic.model import load_vlm

PROMPT = "Real or AI-generated?"


@pytest.fixture(scope="module")
def collator(vlm_dir: Path) -> Collator:
    vlm = load_vlm(str(vlm_dir))
    return Collator(vlm.processor, PROMPT, vlm.answer_ids)


def _image(width: int, height: int, value: int = 128) -> Image.Image:
    return Image.fromarray(np.full((height, width, 3), value, np.uint8))


def test_labels_cover_the_answer_token_only(collator: Collator) -> None:
    real_id, fake_id = collator.answer_ids["real"], collator.answer_ids["fake"]
    batch = collator([(_image(64, 64), "real"), (_image(64, 64, 30), "fake")])
    labels, ids = batch["labels"], batch["input_ids"]
    assert labels.shape == ids.shape
    assert labels[:, -1].tolist() == [real_id, fake_id] == ids[:, -1].tolist()
    assert (labels[:, :-1] == IGNORE).all()
    assert (batch["attention_mask"][:, -1] == 1).all()


def test_scoring_batch_is_the_training_batch_without_the_answer(collator: Collator) -> None:
    items = [(_image(64, 64), "fake"), (_image(64, 64, 200), "real")]
    training, scoring = collator(items), collator.unlabelled([image for image, _ in items])
    assert "labels" not in scoring
    assert torch.equal(training["input_ids"][:, :-1], scoring["input_ids"])
    assert torch.equal(training["attention_mask"][:, :-1], scoring["attention_mask"])
    assert torch.equal(training["pixel_values"], scoring["pixel_values"])
    text = collator.processor.tokenizer.decode(scoring["input_ids"][0])
    assert text.endswith(f"{PROMPT}<|im_end|>\n<|im_start|>assistant\n")


def test_batches_equal_the_processors_own(collator: Collator) -> None:
    images = [_image(64, 64), _image(32, 32, 10), _image(48, 64, 200), _image(32, 32, 60)]
    ours = collator.unlabelled(images)
    theirs = collator.processor(
        images=images, text=[collator.text] * len(images), padding=True, padding_side="left", return_tensors="pt"
    )
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key


def test_mixed_image_sizes_are_left_padded(collator: Collator) -> None:
    batch = collator([(_image(64, 64), "real"), (_image(32, 32), "fake")])
    mask = batch["attention_mask"]
    assert mask[0].all() and not mask[1].all()
    assert mask[1, : int((mask[1] == 0).sum())].eq(0).all()  # the padding comes first
    assert batch["image_grid_thw"].tolist() == [[1, 8, 8], [1, 4, 4]]


@pytest.mark.parametrize("labels", [["real", None], ["real", "maybe"]])
def test_labels_must_all_be_answers_or_all_absent(collator: Collator, labels: list) -> None:
    with pytest.raises(AlignGeminiError, match="labels must all be one of"):
        collator([(_image(64, 64), label) for label in labels])
