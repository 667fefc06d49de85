"""The robustness grid's perturbations: each registered kind maps (image, value) to a
degraded RGB image, deterministically, so every detector sees the same pixels."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

from aligngemini.registry import Registry

if TYPE_CHECKING:
    from aligngemini.evaluation.config import EvaluationConfig, PerturbationSpec

CLEAN = "clean"


@dataclass(frozen=True)
class Perturbation:
    """`prefix` marks the value in condition names (jpeg_q95); `accepts` tells valid values
    and `valid` says which in words, for the config error."""

    fn: Callable[[Image.Image, float], Image.Image]
    prefix: str
    accepts: Callable[[float], bool]
    valid: str


PERTURBATIONS: Registry[Perturbation] = Registry("perturbation")


def _jpeg(image: Image.Image, quality: float) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def _resize(image: Image.Image, factor: float) -> Image.Image:
    size = tuple(max(1, round(side * factor)) for side in image.size)
    return image.resize(size, Image.Resampling.BICUBIC)


def _blur(image: Image.Image, sigma: float) -> Image.Image:
    # Pillow's GaussianBlur radius is the kernel's standard deviation.
    return image.filter(ImageFilter.GaussianBlur(radius=sigma))


PERTURBATIONS.register("jpeg")(Perturbation(_jpeg, "q", lambda v: v.is_integer() and 1 <= v <= 100, "an integer quality 1..100"))
PERTURBATIONS.register("resize")(Perturbation(_resize, "x", lambda v: 0 < v < math.inf, "a finite scale factor > 0"))
PERTURBATIONS.register("blur")(Perturbation(_blur, "s", lambda v: 0 < v < math.inf, "a finite Gaussian sigma > 0 in pixels"))


def condition_name(spec: PerturbationSpec) -> str:
    """A stable name usable as a column or file name: jpeg_q95, resize_x0.5, blur_s1."""
    return f"{spec.kind}_{PERTURBATIONS.get(spec.kind).prefix}{spec.value:g}"


def apply(image: Image.Image, spec: PerturbationSpec) -> Image.Image:
    """`image` (converted to RGB first if needed) under `spec`; always RGB."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return PERTURBATIONS.get(spec.kind).fn(rgb, spec.value)


def conditions(config: EvaluationConfig) -> list[tuple[str, Callable[[Image.Image], Image.Image] | None]]:
    """("clean", None) then one (name, image -> image) per perturbation of the grid, in
    config order."""
    return [(CLEAN, None)] + [(condition_name(spec), partial(apply, spec=spec)) for spec in config.perturbations]
