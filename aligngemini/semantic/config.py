"""Typed parameters of the semantic branch (the `semantic` key of params.yaml)."""

from __future__ import annotations

from pydantic import Field

from aligngemini.config_base import DType, Strict, device_field, revision_field


class SemanticLoraConfig(Strict):
    rank: int = Field(gt=0, description="LoRA rank r of every adapted layer.")
    alpha: float = Field(gt=0, description="LoRA alpha; the update is scaled by alpha / rank.")
    dropout: float = Field(ge=0, lt=1, description="Dropout on the LoRA input during training.")
    target_modules: list[str] | str = Field(
        description="Layers that get LoRA adapters: a list of module-name suffixes, or one regular expression "
        "matched against whole module names (peft's `target_modules`). The paper adapts the language model only, "
        r"e.g. '.*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)'."
    )
    modules_to_save: list[str] = Field(
        description="Modules trained in full beside the adapters and saved in the adapter checkpoint (peft's "
        "`modules_to_save`, matched as name suffixes). Leave empty for a pretrained VLM. The embedded profile's "
        "base model is randomly initialised, so its vision tower has nothing to adapt and must learn features: "
        "list 'visual' there."
    )


class SemanticTrainConfig(Strict):
    epochs: int = Field(gt=0, description="Passes over the training split.")
    batch_size: int = Field(gt=0, description="Images per forward pass (micro-batch).")
    grad_accumulation: int = Field(gt=0, description="Micro-batches per optimiser step; the step's loss is the mean over all their answer tokens.")
    learning_rate: float = Field(gt=0, description="Peak AdamW learning rate of the trained parameters.")
    weight_decay: float = Field(ge=0, description="AdamW weight decay.")
    warmup_ratio: float = Field(ge=0, lt=1, description="Share of optimiser steps with a linear warm-up; a cosine decay to zero follows.")
    max_grad_norm: float = Field(gt=0, description="Gradients are clipped to this global norm before each step.")
    seed: int = Field(description="Seed of the adapter initialisation, the batch order and dropout.")
    gradient_checkpointing: bool = Field(description="Recompute activations in the backward pass: less memory, about a third more time (for the full-size model).")
    loader_workers: int = Field(ge=0, description="DataLoader worker processes that decode and preprocess images; 0 does it in the training process.")


class SemanticConfig(Strict):
    model: str = Field(description="Base VLM: a local directory (relative to the project root) or a hub id such as 'Qwen/Qwen2.5-VL-7B-Instruct', loaded with AutoModelForImageTextToText/AutoProcessor.from_pretrained (trust_remote_code off).")
    revision: str | None = revision_field("the base VLM (recorded in the fused model's model.json, so detect loads the base the adapter was trained on)")
    dtype: DType = Field(description="Weights dtype of the base model (LoRA weights stay float32).")
    device: str = device_field("the VLM's training and the scoring of its own validation split")
    threads: int = Field(gt=0, description="torch intra-op threads; fixed so float results are reproducible.")
    prompt: str = Field(min_length=1, description="The user turn after the image: asks whether the image is real or AI-generated judging by semantic consistency. The answer the model learns is the single token 'real' or 'fake'.")
    threshold: float = Field(gt=0, lt=1, description="An image is called fake when p_fake is above this.")
    eval_batch_size: int = Field(gt=0, description="Images per forward pass when scoring.")
    max_side: int = Field(ge=28, description="Scoring (detect, evaluation, benchmark, serve) resizes an image whose longer side is above this to this side, keeping its aspect ratio, before the VLM's processor sees it: the processor alone would turn a 40 MP photo into tens of thousands of visual tokens. Keep it at or above the training images' side (reconstruction.semantic_size), so what the branch learned from is scored unchanged.")
    lora: SemanticLoraConfig
    train: SemanticTrainConfig

