"""Typed parameters of the pixel-artifact expert (params.yaml key `pixel`).

Importing this module must stay cheap (no torch, no timm): `params.yaml` is validated by
every stage, most of which never touch the expert."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from aligngemini.config_base import DType, Strict, device_field, dtype_field


class BackboneConfig(Strict):
    name: str = Field(description="Registered pixel backbone (aligngemini.pixel.backbones.BACKBONES): 'efficientnet_lite0' or 'timm_vit_lora'.")
    pretrained: bool = Field(description="Start from pretrained weights (the packaged ImageNet weights for efficientnet_lite0, the hub weights for timm_vit_lora); false starts from random init.")
    options: dict[str, Any] = Field(default_factory=dict, description="Builder-specific keyword options (e.g. model, lora_rank); see the builder's docstring.")


class AugmentConfig(Strict):
    paired: bool = Field(description="One draw per item: JPEG, blur and jitter are applied identically to the real, the fake and their resized copies (DDA), so only decoder traces differ. false draws those three per image (the ablation); resampling, crop and flips are shared either way.")
    pixel_mix_probability: float = Field(ge=0, le=1, description="Chance that the fake is blended with its real in pixels, b * fake + (1 - b) * real; it stays labelled fake (DDA: 0.2).")
    pixel_mix_max_ratio: float = Field(ge=0, le=1, description="b ~ U(0, this): the fake's largest weight in the pixel mix (DDA: 0.8).")
    freq_mix_probability: float = Field(ge=0, le=1, description="Chance that the fake is blended with its real in the whole-image DCT, a * DCT(real) + (1 - a) * DCT(fake); it stays labelled fake (DDA: 0.2).")
    freq_mix_max_ratio: float = Field(ge=0, le=1, description="a ~ U(0, this): the real's largest weight in the frequency mix (DDA: 0.8).")
    resized_copies_probability: float = Field(ge=0, le=1, description="Chance that an item also holds the down-resized (U(resample_down)) and up-resized (U(resample_up)) copies of both members, the same factor and filter for both, labelled like their source: such an item has 6 images instead of 2, so a step sees on average batch_size * (2 + 4 * this) images (DDA: 1).")
    resample_probability: float = Field(ge=0, le=1, description="Chance that an item's images are resampled down then up, with the same factors and filter for all.")
    resample_down: tuple[float, float] = Field(description="Range of the down-scaling factor of the resampling and of the down-resized copy (DDA: 0.2-1.0); a copy's range is cut where its short side would fall to half the crop.")
    resample_up: tuple[float, float] = Field(description="Range of the up-scaling factor of the resampling (raised where needed so the result still holds a crop) and of the up-resized copy (DDA: 1.0-3.5).")
    jpeg_probability: float = Field(ge=0, le=1, description="Chance of JPEG compression (DDA: 0.15; the fake's alignment to its real's quality is done when the dataset is built).")
    jpeg_quality: tuple[int, int] = Field(description="Range of JPEG qualities (DDA: 55-100).")
    blur_probability: float = Field(ge=0, le=1, description="Chance of a Gaussian blur (DDA: 0.2).")
    blur_sigma: tuple[float, float] = Field(description="Range of the blur's sigma in pixels (DDA: 0.1-2.0).")
    hflip_probability: float = Field(ge=0, le=1, description="Chance of a horizontal flip, shared by an item's images (DDA: 0.5).")
    vflip_probability: float = Field(ge=0, le=1, description="Chance of a vertical flip, shared by an item's images (DDA: 0.5).")
    jitter_probability: float = Field(ge=0, le=1, description="Chance of colour jitter (DDA: 0.2).")
    jitter_strength: float = Field(ge=0, lt=1, description="Brightness, contrast and saturation factors are drawn from U(1 - s, 1 + s) (DDA: 0.4).")

    @model_validator(mode="after")
    def _ranges(self) -> "AugmentConfig":
        checks = {
            "resample_down": 0 < self.resample_down[0] <= self.resample_down[1] <= 1,
            "resample_up": 1 <= self.resample_up[0] <= self.resample_up[1],
            "jpeg_quality": 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100,
            "blur_sigma": 0 <= self.blur_sigma[0] <= self.blur_sigma[1],
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid range(s): {', '.join(bad)} (low <= high; down within (0, 1], up >= 1, quality 1..100)")
        return self


class InferenceConfig(Strict):
    grid: int = Field(ge=1, description="Most crops per axis of the multi-crop rule (aligngemini.pixel.infer); bounds the cost of large images.")
    min_side: int = Field(gt=0, description="Images whose shorter side is below this are refused (ImageTooSmallError); sides from here up to the crop size are reflect-padded.")
    threshold: float = Field(gt=0, lt=1, description="An image is called fake when p_fake is above this (used by the accuracy metrics).")
    batch_size: int = Field(gt=0, description="Crops per forward pass.")


class PixelConfig(Strict):
    backbone: BackboneConfig = Field(description="Which registered backbone to build, and how.")
    crop_size: int = Field(gt=0, description="Side of the square crops the expert sees, at native resolution (images are never downscaled as a whole); a multiple of the patch size for ViTs.")
    epochs: int = Field(gt=0, description="Passes over the training pairs.")
    batch_size: int = Field(gt=0, description="Pairs per optimiser step; each gives a real and a fake crop, and 4 more with augment.resized_copies_probability.")
    learning_rate: float = Field(gt=0, description="AdamW peak learning rate.")
    weight_decay: float = Field(ge=0, description="AdamW decoupled weight decay.")
    warmup_fraction: float = Field(ge=0, lt=1, description="Share of the steps with a linear warm-up; the rest follow a cosine decay to zero.")
    seed: int = Field(ge=0, description="Seed of weight init, shuffling and every augmentation draw.")
    threads: int = Field(gt=0, description="torch intra-op threads; fixed so float results are reproducible.")
    num_workers: int = Field(ge=0, description="DataLoader worker processes decoding and augmenting pairs (0: in the training process). Results do not depend on it.")
    device: str = device_field("the pixel expert's training and its per-epoch validation")
    dtype: DType = dtype_field("the training forward passes (autocast; the weights and optimiser state stay float32)")
    gradient_checkpointing: bool = Field(default=False, description="Recompute the backbone's activations in the backward pass (timm's set_grad_checkpointing): less memory for large ViTs, about a third more time.")
    train_split: str = Field(description="Manifest split the expert is trained on.")
    eval_splits: list[str] = Field(min_length=1, description="Splits measured after training; the first is also measured after every epoch. Splits absent from the manifest are skipped.")
    eval_jpeg_quality: int = Field(ge=1, le=100, description="The final metrics are repeated after re-encoding the images as JPEG at this quality.")
    augment: AugmentConfig = Field(description="Training augmentation (aligngemini.pixel.augment): DDA's alignment of each pair, every choice a key.")
    inference: InferenceConfig = Field(description="The multi-crop inference rule, also used by the validation metrics.")

    @model_validator(mode="after")
    def _padding_fits(self) -> "PixelConfig":
        # padding never exceeds the image itself, so a crop is mostly real content
        if not self.crop_size // 2 < self.inference.min_side <= self.crop_size:
            raise ValueError(
                f"inference.min_side must be within ({self.crop_size // 2}, {self.crop_size}] for crop_size {self.crop_size}"
            )
        return self
