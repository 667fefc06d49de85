import json
import os
import shutil
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from aligngemini.cli import app
from aligngemini.fusion import detector as detector_module
from aligngemini.model_registry import NoRegisteredModel, ResolvedModel
from tests.fusion.tiny_models import BAD, GOOD, write_detect_folder

KEYS = ["path", "label", "p_fake", "p_semantic", "p_pixel", "model_version", "error"]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture
def asked(fused_project, monkeypatch) -> list[str]:
    """Registers the session's fused model as v1.2.0 in stage prod; records the asked specs."""
    specs = []

    def resolve(project, spec="prod"):
        specs.append(spec)
        return ResolvedModel("aligngemini-detector", "v1.2.0", fused_project.model_dir)

    monkeypatch.setattr("aligngemini.cli.detect.resolve_model", resolve)
    return specs


def detect(fused_project, *args: str):
    return CliRunner().invoke(app, ["detect", *args, "--params", str(fused_project.params)])


def test_folder_with_bad_files_gives_one_json_line_each_and_exit_1(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox" / "nested")
    result = detect(fused_project, str(tmp_path / "inbox"), "--json", "--model", "v1.2.0")
    assert result.exit_code == 1, result.output
    assert asked == ["v1.2.0"]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(files[name]) for name in sorted(files)]  # recursive, sorted
    for row in rows:
        assert list(row) == KEYS and row["model_version"] == "v1.2.0"
        name = row["path"].rsplit("/", 1)[1]
        if name in BAD:
            assert row["label"] is None and row["p_fake"] is None
            assert row["path"] in row["error"] and BAD[name] in row["error"]
        else:
            assert row["error"] is None and row["label"] in ("real", "fake")
            assert 0 <= row["p_fake"] <= 1 and row["label"] == ("fake" if row["p_fake"] > 0.5 else "real")
    assert f"{len(GOOD)} of {len(files)} files scored" in result.stderr


def test_good_files_only_exit_0_with_a_table(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox")
    result = detect(fused_project, str(tmp_path / "inbox" / "*.png"), str(files["chelsea.jpg"]))
    assert result.exit_code == 1  # *.png includes tiny.png, small.png and strip.png
    good = detect(fused_project, *(str(files[name]) for name in GOOD))
    assert good.exit_code == 0, good.output
    assert asked == ["prod", "prod"]
    lines = good.stdout.splitlines()
    assert lines[0].split() == ["label", "p_fake", "p_sem", "p_pix", "path"]
    assert [line.split()[-1] for line in lines[1:]] == [str(files[name]) for name in GOOD]
    assert all(line.split()[0] in ("real", "fake") for line in lines[1:])


def test_paths_and_patterns_matching_nothing_get_error_lines(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox")
    missing, pattern = str(tmp_path / "nowhere.png"), str(tmp_path / "inbox" / "**" / "*.webp")
    result = detect(fused_project, missing, str(files["coffee.png"]), pattern, str(files["coffee.png"]), "--json")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [missing, str(files["coffee.png"]), pattern]  # a file given twice is scored once
    assert "no such file" in rows[0]["error"] and "no such file" in rows[2]["error"]
    assert rows[1]["error"] is None and rows[1]["label"] in ("real", "fake")


def test_no_registered_model_is_a_one_line_error(fused_project, monkeypatch, tmp_path):
    message = "no version of 'aligngemini-detector' is registered in /x: train and register one with\n`make run`"

    def resolve(project, spec="prod"):
        raise NoRegisteredModel(message)

    monkeypatch.setattr("aligngemini.cli.detect.resolve_model", resolve)
    result = detect(fused_project, str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: " + " ".join(message.split())]


def test_a_bad_device_or_dtype_is_a_one_line_error(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox")
    for flag, value in (("--device", "gpu"), ("--dtype", "int8")):
        result = detect(fused_project, str(files["coffee.png"]), flag, value)
        assert result.exit_code != 0 and f"{flag} '{value}'" in result.output, result.output


def test_device_and_dtype_override_where_the_model_runs(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox")
    result = detect(fused_project, str(files["coffee.png"]), "--device", "cpu", "--dtype", "bfloat16", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["error"] is None


def test_file_names_cannot_forge_rows_or_drive_the_terminal(fused_project, asked, tmp_path):
    files = write_detect_folder(tmp_path / "inbox")
    hostile = tmp_path / "inbox" / "x\nfake   0.999  0.999  0.999  forged.png\x1b[2J\x1b]0;owned\x07.png"
    undecodable = tmp_path / "inbox" / os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes, not UTF-8
    for path in (hostile, undecodable):
        shutil.copyfile(files["coffee.png"], path)
    result = detect(fused_project, str(hostile), str(undecodable), str(files["notes.txt"]) + "\x1b[31m")
    lines = result.stdout.splitlines()
    assert len(lines) == 4, lines  # the header and one line per file: no forged row
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert lines[1].endswith("x\\nfake   0.999  0.999  0.999  forged.png\\x1b[2J\\x1b]0;owned\\x07.png")
    assert lines[2].endswith("caf\\xe9.png")
    assert "\\x1b[31m" in lines[3] and lines[3].startswith("error")
    as_json = detect(fused_project, str(hostile), "--json")
    assert json.loads(as_json.stdout)["path"] == str(hostile)  # JSON keeps the exact name


@pytest.mark.parametrize("as_json", [False, True])
def test_each_line_is_printed_as_soon_as_its_file_is_scored(fused_project, asked, tmp_path, monkeypatch, as_json):
    files = write_detect_folder(tmp_path / "inbox")
    params = fused_project.root / f"params-stream-{tmp_path.name}.yaml"  # beside the project's, so its paths resolve
    raw = yaml.safe_load(fused_project.params.read_text())
    raw["images"]["max_batch_pixels"] = 1  # one file per chunk
    params.write_text(yaml.safe_dump(raw))
    events: list[str] = []
    real_load, real_echo = detector_module.load_image, typer.echo
    monkeypatch.setattr(detector_module, "load_image", lambda path, limits: (events.append(f"decode {Path(path).name}"), real_load(path, limits))[1])
    monkeypatch.setattr(typer, "echo", lambda message="", **kwargs: (events.append("line") if not kwargs.get("err") else None, real_echo(message, **kwargs))[1])
    good = [str(files[name]) for name in GOOD]
    try:
        result = CliRunner().invoke(app, ["detect", *good, *(["--json"] if as_json else []), "--params", str(params)])
    finally:
        params.unlink()
    assert result.exit_code == 0, result.output
    decodes = [index for index, event in enumerate(events) if event.startswith("decode")]
    assert [events[index] for index in decodes] == [f"decode {Path(path).name}" for path in good]
    lines = [index for index, event in enumerate(events) if event == "line"][0 if as_json else 1 :]  # the table's header first
    assert len(lines) == len(good)
    # a chunk is scored once the next file's decoded size shows it full: file k's line comes
    # before file k + 2 is decoded, not after the whole folder
    assert all(lines[k] < decodes[k + 2] for k in range(len(good) - 2)), events
