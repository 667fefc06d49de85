"""The full profile's path at toy scale: a model of the exact Qwen2.5-VL class, loaded by
the same function as `Qwen/Qwen2.5-VL-7B-Instruct`, with the full profile's recipe (bfloat16
weights, gradient checkpointing, LoRA on the language model only, nothing else trained):
one training step and one scoring pass through the same functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import Qwen2_5_VLForConditionalGeneration

from aligngemini.semantic.config import SemanticConfig
from aligngemini.semantic.model import load_vlm
from aligngemini.semantic.score import score
from aligngemini.semantic.train import train


def test_one_step_and_one_scoring_pass(vlm_dir: Path, make_config, make_pairs) -> None:
    raw = make_config(epochs=1, batch_size=2, grad_accumulation=2, gradient_checkpointing=True).model_dump()
    raw |= {"dtype": "bfloat16"}
    raw["lora"] |= {"modules_to_save": []}
    config = SemanticConfig.model_validate(raw)
    vlm = load_vlm(str(vlm_dir), config.dtype, config.device)
    assert type(vlm.model) is Qwen2_5_VLForConditionalGeneration
    frozen_before = {name: p.detach().clone() for name, p in vlm.model.named_parameters()}

    result = train(vlm, make_pairs(4, seed=0), config, progress=False)

    assert len(result.steps) == 1 and np.isfinite(result.steps[0]["loss"])
    assert result.vlm.model.base_model.model.is_activation_checkpointing
    lora = {name: p for name, p in result.vlm.model.named_parameters() if "lora_B" in name}
    assert lora and all(p.dtype == torch.float32 for p in lora.values())  # peft keeps adapters in float32
    assert any(p.abs().sum() > 0 for p in lora.values())  # B starts at zero: it moved
    for name, p in result.vlm.model.named_parameters():
        if "lora_" not in name:
            base_name = name.removeprefix("base_model.model.").replace(".base_layer", "")
            assert p.dtype == torch.bfloat16 and torch.equal(p, frozen_before[base_name]), name

    p_fake = score(result.vlm, [image for image, _ in make_pairs(3, seed=1)], config.prompt, config.eval_batch_size)
    assert p_fake.shape == (3,) and ((0 <= p_fake) & (p_fake <= 1)).all()
