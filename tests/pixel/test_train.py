from __future__ import annotations

import pytest
import torch

from aligngemini.pixel.model import build_expert
from aligngemini.pixel.train import train_pixel_expert, warmup_cosine


def test_loss_falls_and_the_synthetic_task_is_learned(trained):
    history = trained.history
    assert [row["epoch"] for row in history] == list(range(1, 7))
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    val = trained.metrics["val"]
    assert val["balanced_accuracy"] >= 0.8
    assert val["balanced_accuracy"] == pytest.approx((val["real_accuracy"] + val["fake_accuracy"]) / 2)
    assert history[-1]["val_balanced_accuracy"] == val["balanced_accuracy"]


def test_metrics_cover_every_eval_split_clean_and_after_jpeg(trained):
    assert set(trained.metrics) == {"val", "test"}
    for split, pairs in (("val", 12), ("test", 6)):
        metrics = trained.metrics[split]
        assert metrics["pairs"] == pairs
        assert set(metrics["jpeg_q75"]) == {"balanced_accuracy", "real_accuracy", "fake_accuracy", "loss", "pairs"}
    assert set(trained.history[0]) == {
        "epoch", "train_loss", "train_accuracy", "lr",
        "val_balanced_accuracy", "val_real_accuracy", "val_fake_accuracy", "val_loss",
    }  # fmt: skip


def test_training_is_deterministic_and_independent_of_workers(make_config, make_dataset):
    rows, images = make_dataset({"train": 8, "val": 2})
    config = make_config(epochs=1, batch_size=4, eval_splits=["val"])
    runs = [
        train_pixel_expert(rows, images, config.model_copy(update={"num_workers": workers}), progress=False)
        for workers in (0, 0, 1)
    ]  # fmt: skip
    reference = runs[0].expert.state_dict()
    for run in runs[1:]:
        assert [row["train_loss"] for row in run.history] == [row["train_loss"] for row in runs[0].history]
        assert all(torch.equal(reference[key], value) for key, value in run.expert.state_dict().items())


def test_missing_training_split_is_an_error(make_config, make_dataset):
    rows, images = make_dataset({"val": 2})
    with pytest.raises(ValueError, match="no pairs in the training split 'train'"):
        train_pixel_expert(rows, images, make_config(), progress=False)


def test_warmup_then_cosine_to_zero():
    factor = warmup_cosine(total_steps=10, warmup_fraction=0.2)
    assert [round(factor(step), 3) for step in (0, 1, 2, 6, 10)] == [0.333, 0.667, 1.0, 0.5, 0.0]


def test_vit_lora_training_moves_only_adapters_and_head(make_config, make_dataset):
    rows, images = make_dataset({"train": 4})
    options = {"model": "vit_tiny_patch16_224", "lora_rank": 4}
    config = make_config(epochs=1, batch_size=2, backbone={"name": "timm_vit_lora", "pretrained": False, "options": options})
    torch.manual_seed(config.seed)
    before = build_expert(config).state_dict()
    after = train_pixel_expert(rows, images, config, progress=False).expert.state_dict()
    changed = {key for key, value in after.items() if not torch.equal(before[key], value)}
    assert changed and all("lora_" in key or "modules_to_save" in key for key in changed)
    assert any("lora_B" in key for key in changed)


def test_warm_start_begins_from_the_given_expert(trained, synthetic, make_config):
    rows, images = synthetic
    # a learning rate too small to move any weight (batch-norm statistics still follow the data)
    warm = train_pixel_expert(rows, images, make_config(epochs=1, learning_rate=1e-12), progress=False, init=trained.expert)
    weights = dict(warm.expert.named_parameters())
    for name, tensor in trained.expert.named_parameters():
        assert torch.allclose(weights[name], tensor, atol=1e-6), name
    assert warm.history[0]["train_accuracy"] > 0.75, "a warm start should already solve the task"


def test_gradient_checkpointing_gives_the_same_gradients(make_config):
    config = make_config()
    crops = torch.rand(2, 3, config.crop_size, config.crop_size)
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        expert = build_expert(config, pretrained=False).train()
        if checkpointing:
            expert.set_grad_checkpointing()
        expert(crops).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in expert.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1])
