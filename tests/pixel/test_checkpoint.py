from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aligngemini.errors import AlignGeminiError
from aligngemini.pixel.checkpoint import CONFIG, load_checkpoint, save_checkpoint
from aligngemini.pixel.infer import predict_logits
from aligngemini.pixel.model import build_expert


def test_round_trip_gives_identical_outputs(trained, synthetic, make_config, tmp_path):
    rows, images = synthetic
    config = make_config()
    save_checkpoint(trained.expert, config, tmp_path / "expert")
    expert, loaded_config = load_checkpoint(tmp_path / "expert")
    assert loaded_config == config
    val = [images[row["path"]] for row in rows if row["split"] == "val"]
    assert np.array_equal(predict_logits(expert, val, config.inference), predict_logits(trained.expert, val, config.inference))
    assert sorted(path.name for path in (tmp_path / "expert").iterdir()) == ["model.safetensors", "pixel.json"]


def test_vit_lora_round_trip(make_config, tmp_path):
    config = make_config(backbone={"name": "timm_vit_lora", "pretrained": False, "options": {"model": "vit_tiny_patch16_224", "lora_rank": 4}})
    torch.manual_seed(0)
    expert = build_expert(config)
    with torch.no_grad():  # LoRA's B starts at zero; make the adapters matter
        for name, parameter in expert.named_parameters():
            if "lora_B" in name:
                parameter.normal_()
    save_checkpoint(expert, config, tmp_path)
    loaded, _ = load_checkpoint(tmp_path)
    crops = torch.rand(3, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(loaded(crops), expert.eval()(crops))


def test_foreign_folder_is_refused(tmp_path):
    with pytest.raises(AlignGeminiError, match="not a pixel expert checkpoint"):
        load_checkpoint(tmp_path)
    (tmp_path / CONFIG).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(AlignGeminiError, match="format 'something-else'"):
        load_checkpoint(tmp_path)
