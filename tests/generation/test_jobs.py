import hashlib
import json

import pytest

from aligngemini.config import GeneratorEntry
from aligngemini.generation.jobs import batch_jobs, derive_seed, missing_jobs, plan_jobs
from aligngemini.generation.prompts import PromptBankError, load_prompts
from aligngemini.generation.run import config_hash


def _entry(name: str, seed: int) -> GeneratorEntry:
    return GeneratorEntry(name=name, pipeline="auto", model=f"models/{name}", steps=4, guidance=1.0, resolution=32, seed=seed)


def test_seeds_do_not_depend_on_prompt_order():
    entries = [_entry("a", 1)]
    forward = plan_jobs(entries, ["p", "q", "r"], 2)
    backward = plan_jobs(entries, ["r", "q", "p"], 2)
    assert {j.key for j in forward} == {j.key for j in backward}


def test_every_job_has_its_own_seed():
    jobs = plan_jobs([_entry("a", 1), _entry("b", 1)], [f"prompt {i}" for i in range(20)], 3)
    assert len(jobs) == 2 * 20 * 3
    for name in "ab":
        seeds = [j.seed for j in jobs if j.generator == name]
        assert len(set(seeds)) == len(seeds)
    assert derive_seed(1, "x", 0) == derive_seed(1, "x", 0) != derive_seed(2, "x", 0)


def test_missing_and_batches():
    jobs = plan_jobs([_entry("a", 1), _entry("b", 2)], ["p", "q", "r"], 2)
    existing = {j.key for j in jobs[:4]}
    todo = missing_jobs(jobs, existing)
    assert todo == jobs[4:]
    batches = batch_jobs(todo, 3)
    assert [len(b) for b in batches] == [2, 3, 3]
    assert all(len({j.generator for j in b}) == 1 for b in batches)
    assert [j for b in batches for j in b] == todo


def test_prompt_bank(tmp_path):
    bank = tmp_path / "prompts.txt"
    bank.write_text("# comment\n\n a cat \na dog\n")
    assert load_prompts(bank) == ["a cat", "a dog"]
    bank.write_text("a cat\na cat\n")
    with pytest.raises(PromptBankError, match=r"prompts.txt:2: prompt repeated"):
        load_prompts(bank)
    bank.write_text("# nothing\n")
    with pytest.raises(PromptBankError, match="no prompt"):
        load_prompts(bank)
    with pytest.raises(PromptBankError, match="not found"):
        load_prompts(tmp_path / "missing.txt")


def test_pinning_a_revision_is_a_new_configuration_and_an_unpinned_entry_keeps_its_hash():
    entry = _entry("a", 1)
    before_revisions = {key: value for key, value in entry.model_dump().items() if key != "revision"}  # entries had no revision
    assert config_hash(entry) == hashlib.sha256(json.dumps(before_revisions, sort_keys=True).encode()).hexdigest()
    assert config_hash(entry.model_copy(update={"revision": "a" * 40})) != config_hash(entry)
