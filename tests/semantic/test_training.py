"""LoRA training on the synthetic task: the loss falls, the task is learned, metrics come
back as lists of dicts, accumulation and seeds behave, and the saved adapter reloads exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from aligngemini.semantic.data import Collator
from aligngemini.semantic.model import load_detector, load_vlm, save_adapter
from aligngemini.semantic.score import answer_logits
from aligngemini.semantic.train import TrainResult, train

TRAIN, VAL = 96, 48


@pytest.fixture(scope="module")
def trained(vlm_dir: Path, make_config, make_pairs) -> TrainResult:
    torch.set_num_threads(1)
    return train(load_vlm(str(vlm_dir)), make_pairs(TRAIN, seed=0), make_config(), make_pairs(VAL, seed=1), progress=False)


def test_loss_falls_and_the_task_is_learned(trained: TrainResult) -> None:
    losses = [row["loss"] for row in trained.steps]
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    assert trained.epochs[-1]["train_loss"] < trained.epochs[0]["train_loss"]
    metrics = trained.metrics
    assert (metrics["n_real"], metrics["n_fake"]) == (VAL // 2, VAL // 2)
    assert metrics["real_accuracy"] >= 0.75 and metrics["fake_accuracy"] >= 0.75
    assert metrics["balanced_accuracy"] == pytest.approx((metrics["real_accuracy"] + metrics["fake_accuracy"]) / 2)


def test_metrics_are_lists_of_records(trained: TrainResult, make_config) -> None:
    config = make_config()
    steps_per_epoch = math.ceil(TRAIN / config.train.batch_size)
    assert [row["step"] for row in trained.steps] == list(range(1, 2 * steps_per_epoch + 1))
    assert trained.steps[-1]["epoch"] == pytest.approx(2.0)
    assert max(row["lr"] for row in trained.steps) == pytest.approx(config.train.learning_rate)
    assert [row["epoch"] for row in trained.epochs] == [1, 2]
    assert set(trained.epochs[-1]) == {
        "epoch", "train_loss", "val_balanced_accuracy", "val_real_accuracy", "val_fake_accuracy", "val_n_real", "val_n_fake",
    }  # fmt: skip
    assert trained.epochs[-1]["val_balanced_accuracy"] == trained.metrics["balanced_accuracy"]
    assert json.dumps([trained.steps, trained.epochs, trained.metrics])  # plain values, ready for DVC plots
    assert trained.samples == 2 * TRAIN and trained.seconds > 0


def test_only_adapters_and_modules_to_save_are_trained(trained: TrainResult) -> None:
    trainable = [name for name, p in trained.vlm.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name or "modules_to_save" in name for name in trainable)
    assert any(".language_model." in name and "lora_A" in name for name in trainable)
    assert not any(".visual." in name and "lora_" in name for name in trainable)  # the regex targets the LM only


def test_adapter_reloads_with_identical_logits(trained: TrainResult, vlm_dir: Path, make_pairs, tmp_path: Path) -> None:
    save_adapter(trained.vlm, tmp_path / "adapter", base_model="models/embedded/tiny-vlm")
    files = sorted(p.name for p in (tmp_path / "adapter").iterdir())
    assert "adapter_model.safetensors" in files and not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "models/embedded/tiny-vlm"
    saved = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert any(key.startswith("base_model.model.model.visual.blocks.") for key in saved)  # modules_to_save travel too
    assert any(key.startswith("base_model.model.lm_head.") for key in saved)

    reloaded = load_detector(str(vlm_dir), tmp_path / "adapter")
    batch = Collator(reloaded.processor, "Is it real?", reloaded.answer_ids).unlabelled(
        [image for image, _ in make_pairs(6, seed=5)]
    )
    with torch.no_grad():
        assert torch.equal(answer_logits(trained.vlm, batch), answer_logits(reloaded, batch))
        full_trained = trained.vlm.model(**batch).logits
        full_reloaded = reloaded.model(**batch).logits
    assert torch.equal(full_trained, full_reloaded)


def _one_step(vlm_dir: Path, pairs, make_config, monkeypatch, batch_size: int, accumulation: int):
    """Train one optimiser step; return the gradients it stepped with, the trained weights
    and the step records."""
    config = make_config(epochs=1, batch_size=batch_size, grad_accumulation=accumulation, warmup_ratio=0.0)
    grads: list[torch.Tensor] = []
    clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm):  # AdamW hides a gradient's scale, so look before the step
        parameters = list(parameters)
        grads.extend(p.grad.detach().clone() for p in parameters)
        return clip(parameters, max_norm)

    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
        result = train(load_vlm(str(vlm_dir)), pairs, config, progress=False)
    weights = [p.detach().clone() for p in result.vlm.model.parameters() if p.requires_grad]
    return grads, weights, result.steps


def test_accumulation_equals_a_bigger_batch_and_seeds_reproduce(vlm_dir: Path, make_config, make_pairs, monkeypatch) -> None:
    pairs = make_pairs(4, seed=3)
    whole_grads, _, whole_steps = _one_step(vlm_dir, pairs, make_config, monkeypatch, batch_size=4, accumulation=1)
    grads, weights, steps = _one_step(vlm_dir, pairs, make_config, monkeypatch, batch_size=2, accumulation=2)
    _, again_weights, again_steps = _one_step(vlm_dir, pairs, make_config, monkeypatch, batch_size=2, accumulation=2)
    assert len(whole_steps) == len(steps) == 1
    assert steps[0]["loss"] == pytest.approx(whole_steps[0]["loss"], rel=1e-5)
    assert len(grads) == len(whole_grads)
    for grad, whole in zip(grads, whole_grads):
        torch.testing.assert_close(grad, whole, rtol=1e-4, atol=1e-7)
    assert again_steps == steps
    assert all(torch.equal(again, weight) for again, weight in zip(again_weights, weights))


def test_warm_start_continues_from_a_saved_adapter(trained: TrainResult, vlm_dir: Path, make_config, make_pairs, tmp_path: Path) -> None:
    save_adapter(trained.vlm, tmp_path / "adapter", base_model=str(vlm_dir))
    config = make_config(epochs=1, learning_rate=1e-12)
    warm = train(load_vlm(str(vlm_dir)), make_pairs(16, seed=0), config, make_pairs(VAL, seed=1), progress=False, init_adapter=tmp_path / "adapter")
    cold = train(load_vlm(str(vlm_dir)), make_pairs(16, seed=0), config, make_pairs(VAL, seed=1), progress=False)
    assert warm.metrics["balanced_accuracy"] == pytest.approx(trained.metrics["balanced_accuracy"], abs=0.05)
    assert warm.metrics["balanced_accuracy"] > cold.metrics["balanced_accuracy"]
