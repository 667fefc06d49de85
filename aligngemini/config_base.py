"""The base of every typed params model, apart from `aligngemini.config` so the branches'
configs (which `Params` includes) can share it without a circular import; also the device
and precision fields that every model-running stage's section carries (resolved by
`aligngemini.devices`, which imports torch: this module must not)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DType = Literal["float32", "bfloat16", "float16"]
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"
REVISION_PATTERN = r"^[0-9a-f]{40}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def device_field(what: str) -> object:
    return Field(default="auto", pattern=DEVICE_PATTERN, description=f"torch device of {what}: 'auto' (CUDA when present, else the CPU), 'cpu', 'cuda' or 'cuda:N'; without CUDA, 'cuda' falls back to the CPU with one warning.")


def revision_field(what: str) -> object:
    return Field(
        default=None,
        pattern=REVISION_PATTERN,
        description=f"Hub commit (40 hex digits) of {what}, passed to every from_pretrained: a later upload to the hub repo cannot change what a trained or registered model is paired with. Ignored when the model is a local directory; null loads the hub's main branch (`aligngemini check` warns).",
    )


def dtype_field(what: str) -> object:
    return Field(default="float32", description=f"Precision of {what}: 'float32', 'bfloat16' or 'float16' (float16 overflows in the SD VAE; bfloat16 also runs on the CPU).")


class Placement(Strict):
    device: str = device_field("the branch")
    dtype: DType = dtype_field("the branch")
