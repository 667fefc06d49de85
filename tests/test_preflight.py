"""The preflight reads a real Hugging Face cache layout (a fake one here: no network) and
says, before any stage, what would stop a run of a profile on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligngemini import preflight as preflight_module
from aligngemini.cli import app
from aligngemini.config import load_params
from aligngemini.preflight import OK, PROBLEM, WARNING, Machine, model_references, preflight

ROOT = Path(__file__).resolve().parents[1]
FULL, EMBEDDED = ROOT / "params.full.yaml", ROOT / "params.yaml"
H200 = ("NVIDIA H200", 141 * 1024**3)


def _fake_cache(cache: Path, refs, skip=()) -> Path:
    """The hub cache's layout (models--org--name/{blobs,refs,snapshots}) with one file for
    each model reference but those in `skip`, at its pinned commit (main's if none)."""
    for ref in refs:
        if ref.ref in skip:
            continue
        repo = cache / f"models--{ref.ref.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(ref.revision or "0" * 40)
        snapshot = repo / "snapshots" / (ref.revision or "0" * 40)
        snapshot.mkdir(parents=True, exist_ok=True)
        (snapshot / "config.json").write_text("{}")
    return cache


def _machine(cache: Path, gpu=H200, free: int = 10**13) -> Machine:
    return Machine(hf_cache=cache, offline=True, free_bytes=lambda _: free, cuda=lambda: gpu)


@pytest.fixture(scope="module")
def full():
    return load_params(FULL)


def _problems(checks) -> list[str]:
    return [c.item for c in checks if c.status == PROBLEM]


def test_full_profile_with_every_model_cached_and_a_gpu_passes(full, tmp_path):
    cache = _fake_cache(tmp_path / "hub", model_references(full))
    checks = preflight(full, ROOT, _machine(cache))
    assert _problems(checks) == []
    assert {c.item for c in checks if c.kind == "stage" and "GPU" in c.detail} == {"generate", "reconstruct", "train_pixel", "train_semantic", "evaluate"}


def test_a_model_missing_from_the_cache_offline_is_named(full, tmp_path):
    cache = _fake_cache(tmp_path / "hub", model_references(full), skip={"madebyollin/taesd"})
    (problem,) = [c for c in preflight(full, ROOT, _machine(cache)) if c.status == PROBLEM]
    assert problem.item == "reconstructor taesd: madebyollin/taesd"
    assert "huggingface-cli download madebyollin/taesd --revision 614f76814bbe30edbe2e627ace1c2234c81a2c0e" in problem.detail


def test_a_cache_without_the_pinned_commit_is_a_problem_offline_and_an_unpinned_model_a_warning(full, tmp_path):
    refs = model_references(full)
    moved = [ref._replace(revision="1" * 40) if ref.ref == "madebyollin/taesd" else ref for ref in refs]
    checks = {c.item: c for c in preflight(full, ROOT, _machine(_fake_cache(tmp_path / "hub", moved)))}
    taesd = checks["reconstructor taesd: madebyollin/taesd"]
    assert taesd.status == PROBLEM and taesd.detail.startswith("cached, but not at 614f76814bbe in the Hugging Face cache")

    unpinned = full.model_copy(update={"semantic": full.semantic.model_copy(update={"revision": None})})
    checks = {c.item: c for c in preflight(unpinned, ROOT, _machine(_fake_cache(tmp_path / "hub2", refs)))}
    base = checks["semantic base: Qwen/Qwen2.5-VL-7B-Instruct"]
    assert base.status == WARNING and "no revision" in base.detail
    assert [c.item for c in checks.values() if c.kind == "model" and c.status != OK] == [base.item]


def test_a_cuda_stage_without_cuda_and_too_little_disk_are_problems(full, tmp_path):
    cache = _fake_cache(tmp_path / "hub", model_references(full))
    checks = preflight(full, ROOT, _machine(cache, gpu=None, free=1000))
    assert _problems(checks) == ["data root", "train_semantic", "evaluate"]
    # the stages set to auto would fall back to the CPU: said, not refused
    assert {c.item for c in checks if c.status == WARNING and c.kind == "stage"} == {"generate", "reconstruct", "train_pixel"}


def test_embedded_profile_needs_nothing_from_the_hub(tmp_path):
    checks = preflight(load_params(EMBEDDED), ROOT, _machine(tmp_path / "no-cache", gpu=None))
    assert _problems(checks) == []
    assert all(c.status == OK for c in checks if c.kind == "model")


def test_check_command_prints_the_table_and_exits_1_naming_the_first_problem(full, tmp_path, monkeypatch):
    cache = _fake_cache(tmp_path / "hub", model_references(full), skip={"Qwen/Qwen2.5-VL-7B-Instruct"})
    monkeypatch.setattr(preflight_module.Machine, "this_one", classmethod(lambda cls: _machine(cache)))
    result = CliRunner().invoke(app, ["check", "--params", str(FULL)])
    assert result.exit_code == 1
    assert "semantic base: Qwen/Qwen2.5-VL-7B-Instruct" in result.output and "1 problem(s)" in result.output
    assert "ok       stage  train_semantic" in result.output
