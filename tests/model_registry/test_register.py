"""Registration is idempotent and crash-safe: killed after any of its steps, the next run
gives the same bytes the same version and finishes what was left undone; the version commit
holds the work tree's tracked files, and the catalog says whether HEAD differed."""

import json
import shutil
import subprocess

import pytest

from aligngemini.catalog.db import Catalog
from aligngemini.catalog.models import model_version, model_versions
from aligngemini.catalog.records import TrainingRecord
from aligngemini.catalog.shards import write_shard
from aligngemini.model_registry import register as registering
from aligngemini.model_registry import tags
from aligngemini.model_registry.gate import decide
from aligngemini.model_registry.resolve import cached_path
from aligngemini.project import Project
from aligngemini.training_outputs import folder_sha256
from tests.conftest import ROOT

# Every step registration takes, in order, by the module attribute it is called through.
STEPS = [(tags, "version_commit"), (tags, "register"), (tags, "assign"), (registering, "write_shard"), (registering, "keep_copy")]


class Killed(BaseException):
    """Stands for SIGKILL: no `except Exception` of the code under test catches it."""


def _git(root, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def _fused(project: Project, marker: str):
    fused = project.path(project.params.registry.path)
    for branch in ("pixel", "semantic"):
        (fused / branch).mkdir(parents=True, exist_ok=True)
        (fused / branch / "weights.bin").write_text(f"{branch} {marker}")
    (fused / "model.json").write_text("{}")
    trainings = [
        TrainingRecord(branch, folder_sha256(fused / branch), f"models/{branch}", branch, f"{branch}-md5", "h" * 64, None, "{}", 1.0,
                       "2026-12-04T00:00:00+00:00", None).to_row()
        for branch in ("pixel", "semantic")
    ]  # fmt: skip
    write_shard(project.staging, "trainings", trainings)
    _merge(project)
    return fused, f"md5-{marker}.dir"


def _merge(project: Project) -> None:
    with Catalog(project.catalog) as db:
        db.merge_staging(project.staging)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "code.py").write_text("x = 1\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "project")
    return Project.load(root / "params.yaml")


def _register(project: Project, fused, md5: str) -> registering.Registration:
    _merge(project)  # as the register flow does first: a dead run's shard is merged
    return registering.register_fused(project, fused, md5, "or", {"sets": {}}, created_at="2026-12-04T00:00:00+00:00", flow_run_id=None)


def _tag_count(project: Project) -> int:
    return len([t for t in _git(project.root, "tag").splitlines() if t.startswith(f"{project.params.registry.artifact}@")])


@pytest.mark.parametrize(("owner", "step"), STEPS, ids=[step for _, step in STEPS])
def test_killed_after_any_step_the_rerun_gives_the_same_version_and_repairs_the_rest(project, monkeypatch, owner, step):
    fused, md5 = _fused(project, "a")
    real = getattr(owner, step)

    def dies_after(*args, **kwargs):
        real(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(owner, step, dies_after)
    with pytest.raises(Killed):
        _register(project, fused, md5)
    monkeypatch.setattr(owner, step, real)

    again = _register(project, fused, md5)
    name, candidate = project.params.registry.artifact, project.params.registry.gate.candidate_stage
    assert again.version == "v0.0.1" and _tag_count(project) == 1
    assert again.registered == (step == "version_commit"), "a version commit alone is no registration: the rerun makes the version"
    _merge(project)
    assert [(r["version"], r["commit"]) for r in model_versions(project.catalog, name)] == [("v0.0.1", again.commit)]
    assert tags.stage_version(project.root, name, candidate) == "v0.0.1"
    assert (cached_path(project, "v0.0.1") / "pixel" / "weights.bin").read_text() == "pixel a"
    assert tags.version_with_artifact(project.root, name, md5)["commit"] == again.commit

    third = _register(project, fused, md5)
    assert (third.version, third.registered, third.repaired) == ("v0.0.1", False, ())
    assert _git(project.root, "tag").count(f"{name}#{candidate}#") == 1, "the stage is assigned once"
    other_fused, other_md5 = _fused(project, "b")
    assert _register(project, other_fused, other_md5).version == "v0.0.2"


def test_a_catalog_row_whose_tag_was_lost_gets_its_tag_back_at_the_same_commit(project):
    fused, md5 = _fused(project, "a")
    first = _register(project, fused, md5)
    _git(project.root, "tag", "-d", f"{first.name}@v0.0.1")
    again = _register(project, fused, md5)
    assert (again.version, again.commit, again.repaired) == ("v0.0.1", first.commit, ("tag",))
    assert tags.version_with_artifact(project.root, first.name, md5)["version"] == "v0.0.1"


def test_the_version_commit_holds_the_work_tree_and_the_catalog_says_it_was_dirty(project):
    fused, md5 = _fused(project, "a")
    head = _git(project.root, "rev-parse", "HEAD")
    (project.root / "code.py").write_text("x = 2\n")
    (project.root / "staged.py").write_text("y = 1\n")
    _git(project.root, "add", "staged.py")
    (project.root / "dvc.lock").write_text("schema: '2.0'\n")
    status = _git(project.root, "status", "--porcelain")
    done = _register(project, fused, md5)
    assert _git(project.root, "status", "--porcelain") == status and _git(project.root, "rev-parse", "HEAD") == head, "index and branch untouched"
    assert _git(project.root, "show", f"{done.commit}:code.py") == "x = 2" and _git(project.root, "show", f"{done.commit}:staged.py") == "y = 1"
    assert tags.describe(project.root, done.commit).changed == ("code.py", "staged.py"), "dvc.lock is the pipeline's, not a code change"
    _merge(project)
    row = model_version(project.catalog, done.name, "v0.0.1")
    assert (row["git_rev"], row["git_dirty"], row["commit"]) == (head, True, done.commit)

    clean_fused, clean_md5 = _fused(project, "b")
    _git(project.root, "commit", "-qam", "code")
    _register(project, clean_fused, clean_md5)
    _merge(project)
    assert model_version(project.catalog, done.name, "v0.0.2")["git_dirty"] is False


def test_a_run_that_died_after_promoting_records_the_decision_without_moving_the_stage_again(project):
    fused, md5 = _fused(project, "a")
    done = _register(project, fused, md5)
    config = project.params.registry
    tags.assign(project.root, config.artifact, done.version, config.gate.stage, config.author, config.author_email)
    metrics = {"sets": {config.gate.metric_set: {"clean": {"fused": {"balanced_accuracy": 0.9, "real_accuracy": 0.9}}}}}
    decision = decide(metrics, None, config.gate, done.version, done.version)
    record = registering.apply_decision(
        project, done.version, decision.promoted, decision.reason, done.version, decided_at="2026-12-04T00:00:00+00:00", flow_run_id=None
    )
    assert record.promoted and "already in" in record.reason
    assert _git(project.root, "tag").count(f"{config.artifact}#{config.gate.stage}#") == 1


@pytest.mark.parametrize("command", [["lineage", "model"], ["models", "show"]])
def test_commands_that_take_a_version_take_a_stage(project, command):
    from typer.testing import CliRunner

    from aligngemini.cli import app

    config = project.params.registry
    first = _register(project, *_fused(project, "a"))
    _register(project, *_fused(project, "b"))
    _merge(project)
    tags.assign(project.root, config.artifact, first.version, config.gate.stage, config.author, config.author_email)
    params = str(project.root / "params.yaml")
    for spec, version in ((config.gate.stage, "v0.0.1"), (config.gate.candidate_stage, "v0.0.2"), ("v0.0.2", "v0.0.2")):
        shown = CliRunner().invoke(app, [*command, spec, "--json", "--params", params])
        assert shown.exit_code == 0, shown.output
        found = json.loads(shown.stdout)
        assert found.get("model", found)["version"] == version, spec
    unknown = CliRunner().invoke(app, [*command, "staging", "--params", params])
    assert unknown.exit_code == 1 and "no version of 'aligngemini-detector' is in stage 'staging'" in unknown.output
