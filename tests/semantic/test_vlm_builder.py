"""The `qwen2_5_vl` bootstrap builder: a directory that the Auto classes load offline as
Qwen2.5-VL's own classes, with Qwen2-VL's special tokens and chat template, rebuilt byte
for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
)

from aligngemini.bootstrap import BuildContext, build_model
from aligngemini.bootstrap.qwen_vl import SPECIAL_TOKENS
from aligngemini.config import BootstrapModel
from aligngemini.errors import AlignGeminiError


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_auto_classes_load_qwen2_5_vl_offline(vlm_dir: Path) -> None:
    model = AutoModelForImageTextToText.from_pretrained(vlm_dir, trust_remote_code=False)
    processor = AutoProcessor.from_pretrained(vlm_dir, trust_remote_code=False)
    assert type(model) is Qwen2_5_VLForConditionalGeneration
    assert type(processor) is Qwen2_5_VLProcessor
    assert isinstance(processor.tokenizer, Qwen2Tokenizer)
    assert isinstance(processor.image_processor, Qwen2VLImageProcessor)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    assert any(p.name.endswith(".safetensors") for p in vlm_dir.iterdir())


def test_special_tokens_are_single_tokens_wired_into_the_config(vlm_dir: Path) -> None:
    model = AutoModelForImageTextToText.from_pretrained(vlm_dir)
    tokenizer = AutoProcessor.from_pretrained(vlm_dir).tokenizer
    ids = {token: tokenizer.encode(token, add_special_tokens=False) for token in SPECIAL_TOKENS}
    assert all(len(piece) == 1 for piece in ids.values())
    assert model.config.image_token_id == ids["<|image_pad|>"][0]
    assert model.config.vision_start_token_id == ids["<|vision_start|>"][0]
    assert model.config.text_config.vocab_size == len(tokenizer)


def test_chat_template_and_image_tokens(vlm_dir: Path) -> None:
    processor = AutoProcessor.from_pretrained(vlm_dir)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "real or fake?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>real or fake?<|im_end|>\n<|im_start|>assistant\n"
    )
    image = Image.fromarray(np.zeros((64, 64, 3), np.uint8))
    batch = processor(images=[image], text=[text], return_tensors="pt")
    assert batch["image_grid_thw"].tolist() == [[1, 8, 8]]  # 8-px patches
    assert int((batch["input_ids"] == processor.image_token_id).sum()) == 16  # 2x2 patches merge into one token
    assert processor.tokenizer.decode(batch["input_ids"][0]).count("<|image_pad|>") == 16


def test_rebuild_is_byte_identical(vlm_dir: Path, build_vlm) -> None:
    assert _digests(build_vlm("tiny-vlm")) == _digests(vlm_dir)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"train_steps": 5}, "trains nothing"), ({"resolution": 72}, "not a multiple of patch_size")],
)
def test_refuses_settings_it_cannot_honour(tmp_path: Path, fields: dict, message: str) -> None:
    spec = BootstrapModel(**{
        "name": "vlm", "builder": "qwen2_5_vl", "resolution": 64, "train_steps": 0, "batch_size": 1,
        "learning_rate": 1e-3, "seed": 0,
    } | fields)  # fmt: skip
    with pytest.raises(AlignGeminiError, match=message):
        build_model(BuildContext(spec, tmp_path / "vlm", tmp_path, [], ["a cat"]))
    assert list(tmp_path.iterdir()) == []
