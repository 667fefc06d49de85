from collections import Counter
from pathlib import Path

import pytest
import yaml

from aligngemini.catalog.db import generated_records
from aligngemini.images.store import ImageStore
from aligngemini.manifest import read_manifest
from aligngemini.project import Project
from flows.generate import generate


def _state(params: Path) -> tuple[list[dict], set[str], Project]:
    project = Project.load(params)
    rows = generated_records(project.catalog, [g.name for g in project.params.generators])
    files = {p.stem for p in project.store("generated").files()}
    return rows, files, project


def _assert_complete(params: Path, expected_per_generator: dict[str, int]) -> list[dict]:
    rows, files, project = _state(params)
    keys = [(r["generator"], r["prompt"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys)), "a (generator, prompt, seed) was generated twice"
    assert Counter(r["generator"] for r in rows) == expected_per_generator
    assert files == {r["sha256"] for r in rows}, "store and catalog disagree (orphan or missing files)"
    store_root = project.store("generated").root
    assert not [p for p in store_root.rglob("*") if p.is_file() and p.suffix not in (".png", ".parquet")]
    assert not list(project.staging.rglob("*.parquet")), "unmerged shards left behind"
    assert sorted(r["sha256"] for r in read_manifest(project.manifest("generated"))) == sorted(files)
    return rows


def test_generate_then_rerun_makes_nothing(generation_project):
    params = generation_project()
    first = generate(params_path=str(params))
    assert first == {"planned": 18, "generated": 18, "reused": 0}
    rows = _assert_complete(params, {"tiny-sd": 6, "tiny-pixart": 6, "tiny-ddpm": 6})
    assert generate(params_path=str(params)) == {"planned": 18, "generated": 0, "reused": 18}
    assert _assert_complete(params, {"tiny-sd": 6, "tiny-pixart": 6, "tiny-ddpm": 6}) == rows


def test_new_generator_entry_generates_only_its_images(two_generator_project):
    params = two_generator_project
    generate(params_path=str(params))
    before = {r["sha256"]: r for r in _state(params)[0]}

    raw = yaml.safe_load(params.read_text())
    raw["generators"].append({**raw["generators"][0], "name": "tiny-sd-b", "seed": 4242, "steps": 6})
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    summary = generate(params_path=str(params))

    assert summary == {"planned": 18, "generated": 6, "reused": 12}
    after = _assert_complete(params, {"tiny-sd": 6, "tiny-pixart": 6, "tiny-sd-b": 6})
    unchanged = {r["sha256"]: r for r in after if r["generator"] != "tiny-sd-b"}
    assert unchanged == before, "existing images were regenerated or re-recorded"


def test_killed_generation_resumes_without_duplicates_or_gaps(generation_project, monkeypatch):
    reference = generation_project()
    generate(params_path=str(reference))
    expected = {r["sha256"] for r in _state(reference)[0]}

    def no_retries(p):
        p["generation"]["retries"] = 0

    params = generation_project(edit=no_retries)
    real_put, calls = ImageStore.put, Counter()

    def crashing_put(self, image):
        calls["put"] += 1
        if calls["put"] > 5:  # mid-batch: the first batch (8 images) dies after 5 files
            raise RuntimeError("simulated crash")
        return real_put(self, image)

    monkeypatch.setattr(ImageStore, "put", crashing_put)
    with pytest.raises(RuntimeError, match="simulated crash"):
        generate(params_path=str(params))
    rows, files, _ = _state(params)
    assert rows == [] and len(files) == 5  # files were written, their batch never recorded

    monkeypatch.setattr(ImageStore, "put", real_put)
    summary = generate(params_path=str(params))
    assert summary["generated"] == 18
    rows = _assert_complete(params, {"tiny-sd": 6, "tiny-pixart": 6, "tiny-ddpm": 6})
    assert {r["sha256"] for r in rows} == expected, "resumed run differs from an uninterrupted one"
