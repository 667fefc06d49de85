"""Loading the VLM, attaching and saving its LoRA adapter.

One code path for both profiles: `load_vlm` takes a local directory (the embedded profile's
bootstrap model) or a hub id (`Qwen/Qwen2.5-VL-7B-Instruct`), always through
`AutoModelForImageTextToText` / `AutoProcessor.from_pretrained` with `trust_remote_code` off."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForImageTextToText, AutoProcessor, PreTrainedModel, ProcessorMixin

from aligngemini.devices import resolve_device
from aligngemini.errors import AlignGeminiError
from aligngemini.folders import swap_in
from aligngemini.semantic.config import SemanticLoraConfig

REAL, FAKE = "real", "fake"
LABELS = (REAL, FAKE)  # the manifest's labels, which are also the answer words the model learns


class VLMLoadError(AlignGeminiError):
    """The base VLM or its processor cannot be loaded (missing directory, hub id unavailable offline)."""


class AnswerTokenError(AlignGeminiError):
    """An answer word is not a single token of the tokenizer, so one logit cannot score it."""


@dataclass(frozen=True)
class SemanticVLM:
    model: PreTrainedModel | PeftModel
    processor: ProcessorMixin
    answer_ids: tuple[int, int]  # token ids of REAL and FAKE

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def answer_token_ids(tokenizer) -> tuple[int, int]:
    """The token ids of REAL and FAKE; raises `AnswerTokenError` unless each is one token."""
    ids = []
    for word in LABELS:
        pieces = tokenizer.encode(word, add_special_tokens=False)
        if len(pieces) != 1:
            shown = tokenizer.convert_ids_to_tokens(pieces)
            raise AnswerTokenError(
                f"the answer '{word}' is {len(pieces)} tokens {shown} in this tokenizer; the semantic branch scores "
                f"one logit per answer, so '{word}' must be a single token (embedded models: rebuild with "
                f"'{word}' in the qwen2_5_vl builder's answer_words)"
            )
        ids.append(pieces[0])
    return ids[0], ids[1]


def load_vlm(source: str | Path, dtype: str = "float32", device: str = "cpu", revision: str | None = None) -> SemanticVLM:
    """The base VLM at `source` (a local directory, or a hub id at commit `revision` if
    given), in eval mode on `device` ('auto', 'cpu', 'cuda': aligngemini.devices.resolve_device)."""
    try:
        model = AutoModelForImageTextToText.from_pretrained(source, revision=revision, dtype=getattr(torch, dtype), trust_remote_code=False)
        processor = AutoProcessor.from_pretrained(source, revision=revision, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise VLMLoadError(f"cannot load the VLM '{source}': {exc}") from exc
    if not hasattr(processor, "image_processor"):
        raise VLMLoadError(f"'{source}' has no image processor: not a vision-language model")
    return SemanticVLM(model.to(resolve_device(device)).eval(), processor, answer_token_ids(processor.tokenizer))


def attach_lora(vlm: SemanticVLM, lora: SemanticLoraConfig, seed: int) -> SemanticVLM:
    """`vlm` with fresh LoRA adapters (seeded), every other weight frozen except
    `lora.modules_to_save`. The base model is modified in place, as peft does."""
    torch.manual_seed(seed)
    config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        modules_to_save=lora.modules_to_save or None,
        bias="none",
    )
    return replace(vlm, model=get_peft_model(vlm.model, config))


def save_adapter(vlm: SemanticVLM, out_dir: str | Path, base_model: str) -> None:
    """Write the adapter (and any `modules_to_save`) as safetensors with peft's
    `save_pretrained`, recording `base_model` (the params' model string, not the resolved
    local path, so the files do not depend on where the project lives). The base model's
    embeddings are never copied: the vocabulary is never resized. The directory is replaced
    whole: a reader never sees a half-written adapter."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.saving-{uuid.uuid4().hex}"
    config = vlm.model.peft_config["default"]
    resolved, config.base_model_name_or_path = config.base_model_name_or_path, base_model
    try:
        vlm.model.save_pretrained(staging, safe_serialization=True, save_embedding_layers=False)
        swap_in(staging, out_dir)
    finally:
        config.base_model_name_or_path = resolved
        shutil.rmtree(staging, ignore_errors=True)


def load_trainable_adapter(vlm: SemanticVLM, adapter_dir: str | Path) -> SemanticVLM:
    """The base `vlm` with a saved adapter to train further (warm start)."""
    model = PeftModel.from_pretrained(vlm.model, adapter_dir, is_trainable=True)
    return replace(vlm, model=model.to(vlm.device))


def load_adapter(vlm: SemanticVLM, adapter_dir: str | Path) -> SemanticVLM:
    """The base `vlm` with the adapter saved in `adapter_dir`, in eval mode."""
    model = PeftModel.from_pretrained(vlm.model, adapter_dir, is_trainable=False)
    return replace(vlm, model=model.to(vlm.device).eval())


def load_detector(
    source: str | Path, adapter_dir: str | Path, dtype: str = "float32", device: str = "cpu", revision: str | None = None
) -> SemanticVLM:
    """The trained semantic branch: the base VLM at `source` (commit `revision`) with its adapter."""
    return load_adapter(load_vlm(source, dtype, device, revision), adapter_dir)
