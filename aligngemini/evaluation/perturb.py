"""The robustness grid's perturbations: each registered kind maps (image, value) to a
degraded RGB image, deterministically, so every detector sees the same pixels."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from collections.abc import Sequence

from PIL import Image, ImageFilter
from pydantic import Field, ValidationError, field_validator, model_validator

from aligngemini.config_base import Strict
from aligngemini.errors import AlignGeminiError
from aligngemini.registry import Registry

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


class PerturbationSpec(Strict):
    kind: str = Field(description="Registered perturbation (aligngemini.evaluation.perturb.PERTURBATIONS): 'jpeg', 'resize' or 'blur'.")
    value: float = Field(description="Its strength: JPEG quality (1..100), resize factor (> 0), or blur sigma in pixels (> 0).")

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        return PERTURBATIONS.validate(kind)

    @model_validator(mode="after")
    def _valid_value(self) -> "PerturbationSpec":
        perturbation = PERTURBATIONS.get(self.kind)
        if not perturbation.accepts(self.value):
            raise ValueError(f"{self.kind} value {self.value:g} is invalid: expected {perturbation.valid}")
        return self


class PerturbationTextError(AlignGeminiError):
    """A perturbation written as KIND:VALUE (a command-line option) that is not one."""


def parse_perturbation(text: str) -> PerturbationSpec:
    """'jpeg:75' -> PerturbationSpec(kind='jpeg', value=75)."""
    kind, colon, value = text.partition(":")
    try:
        if not colon:
            raise ValueError("expected KIND:VALUE, e.g. jpeg:75, resize:0.5 or blur:1")
        return PerturbationSpec(kind=kind, value=float(value))
    except (ValueError, ValidationError) as exc:
        problem = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise PerturbationTextError(f"perturbation {text!r}: {problem}") from None


def condition_name(spec: PerturbationSpec) -> str:
    """A stable name usable as a column or file name: jpeg_q95, resize_x0.5, blur_s1."""
    return f"{spec.kind}_{PERTURBATIONS.get(spec.kind).prefix}{spec.value:g}"


def apply(image: Image.Image, spec: PerturbationSpec) -> Image.Image:
    """`image` (converted to RGB first if needed) under `spec`; always RGB."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return PERTURBATIONS.get(spec.kind).fn(rgb, spec.value)


def conditions(specs: Sequence[PerturbationSpec]) -> list[tuple[str, Callable[[Image.Image], Image.Image] | None]]:
    """("clean", None) then one (name, image -> image) per perturbation, in order."""
    return [(CLEAN, None)] + [(condition_name(spec), partial(apply, spec=spec)) for spec in specs]
