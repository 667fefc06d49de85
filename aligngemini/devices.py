"""Where a stage's models run and in what precision, from the `device` and `dtype` keys of
its params section (`aligngemini.config_base.device_field`/`dtype_field`).

`auto` means CUDA when this machine has it, else the CPU. A model dir trained on a GPU and
loaded on a machine without one asks for `cuda`: it runs on the CPU after one warning line
per requested device, not a crash."""

from __future__ import annotations

import contextlib
import logging
import threading

import torch

from aligngemini.config_base import DType

log = logging.getLogger("aligngemini")
_warned: set[str] = set()
_warned_lock = threading.Lock()


def resolve_device(requested: str) -> torch.device:
    """The torch device that `requested` ('auto', 'cpu', 'cuda', 'cuda:N') means here."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        with _warned_lock:
            if requested not in _warned:
                _warned.add(requested)
                log.warning("device '%s' requested but this machine has no CUDA device: running on the CPU", requested)
        return torch.device("cpu")
    return device


def torch_dtype(name: DType) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def autocast(device: torch.device, dtype: DType) -> contextlib.AbstractContextManager:
    """Mixed precision in `dtype` on `device` (weights stay float32); nothing for float32."""
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch_dtype(dtype))
