"""Device and precision keys: `auto` means CUDA when present, an unavailable CUDA falls back
to the CPU with one warning line, and each dtype name maps to its torch dtype."""

from __future__ import annotations

import logging

import pytest
import torch

from aligngemini import devices
from aligngemini.config import load_params
from aligngemini.devices import autocast, resolve_device, torch_dtype
from tests.conftest import ROOT


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_warned", set())


def test_auto_and_cpu_resolve_to_the_cpu_without_cuda(no_cuda, caplog):
    with caplog.at_level(logging.WARNING, logger="aligngemini"):
        assert resolve_device("auto") == resolve_device("cpu") == torch.device("cpu")
    assert caplog.records == []


def test_cuda_without_cuda_falls_back_with_one_warning_line(no_cuda, caplog):
    with caplog.at_level(logging.WARNING, logger="aligngemini"):
        assert [resolve_device("cuda") for _ in range(3)] == [torch.device("cpu")] * 3
    (record,) = caplog.records
    assert "'cuda'" in record.getMessage() and "CPU" in record.getMessage() and "\n" not in record.getMessage()


def test_dtypes_and_autocast():
    assert [torch_dtype(name) for name in ("float32", "bfloat16", "float16")] == [torch.float32, torch.bfloat16, torch.float16]
    layer = torch.nn.Linear(4, 2)
    with autocast(torch.device("cpu"), "bfloat16"):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "float32"):
        assert layer(torch.ones(1, 4)).dtype == torch.float32


@pytest.mark.parametrize("section", ["generation", "reconstruction", "pixel", "semantic", "evaluation"])
def test_embedded_profile_pins_every_model_stage_to_the_cpu_in_float32(section):
    params = load_params(ROOT / "params.yaml")
    config = getattr(params, section)
    assert config.device == "cpu"
    assert getattr(config, "dtype", "float32") == "float32"
    assert {g.torch_dtype for g in params.generators} == {"float32"}


def test_a_bad_device_names_the_key(tmp_path):
    import yaml

    from aligngemini.errors import ConfigError

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["pixel"]["device"] = "gpu"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="pixel.device"):
        load_params(tmp_path / "params.yaml")
