from pathlib import Path

import pytest
import yaml
from PIL import Image

from aligngemini.config import Params, load_params
from aligngemini.datasets.align import resample
from aligngemini.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_project_params_load():
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert [g.name for g in params.generators]


def test_unknown_key_names_key_and_file(tmp_path, raw):
    raw["generation"]["batch_sise"] = 4
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == "generation.batch_sise"
    assert str(path) in str(err.value) and "unknown key" in str(err.value)


def test_missing_key_names_key(tmp_path, raw):
    del raw["generators"][1]["steps"]
    with pytest.raises(ConfigError) as err:
        load_params(_write(tmp_path, raw))
    assert err.value.key == "generators.1.steps"
    assert "missing" in str(err.value)


def test_bad_value_names_key(tmp_path, raw):
    raw["ingest"]["tile_size"] = 100  # not a multiple of 8
    with pytest.raises(ConfigError) as err:
        load_params(_write(tmp_path, raw))
    assert err.value.key == "ingest.tile_size"


@pytest.mark.parametrize("path", [("generators", 0), ("reconstruction", "reconstructors", 0), ("semantic",)])
@pytest.mark.parametrize("revision", ["main", "v1.0", "ABCDEF" + "0" * 34, "0" * 39])
def test_a_revision_that_is_not_a_commit_hash_names_the_key(tmp_path, raw, path, revision):
    section = raw
    for part in path:
        section = section[part]
    section["revision"] = revision  # a branch or tag moves: only a commit pins what is loaded
    with pytest.raises(ConfigError) as err:
        load_params(_write(tmp_path, raw))
    assert err.value.key == ".".join(map(str, (*path, "revision")))


def test_duplicate_generator_names_refused(tmp_path, raw):
    raw["generators"].append(dict(raw["generators"][0]))
    with pytest.raises(ConfigError, match="unique"):
        load_params(_write(tmp_path, raw))


def test_a_semantic_cap_below_the_training_side_is_refused(tmp_path, raw):
    raw["semantic"]["max_side"] = raw["reconstruction"]["semantic_size"] - 1
    with pytest.raises(ConfigError, match="semantic.max_side .* below reconstruction.semantic_size"):
        load_params(_write(tmp_path, raw))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "key: [unclosed\n"])
def test_malformed_file(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "nope.yaml")


@pytest.mark.parametrize("profile", ["params.yaml", "params.full.yaml"])
def test_every_resampled_pixel_tile_passes_validation_and_the_inference_guard(profile):
    # the extremes of both ranges, drawn as the dataset draws them: one side off and a few
    # pairs in a thousand would fail validate (above max_side) or train_pixel (below min_side)
    params = load_params(ROOT / profile)
    pixel, side = params.datasets.pixel, params.ingest.tile_size
    tile = Image.new("RGB", (side, side))
    for down, up in [(pixel.resample_down[0], pixel.resample_up[0]), (pixel.resample_down[1], pixel.resample_up[1])]:
        width, height = resample(tile, down, up)[0].size
        assert width == height
        assert max(params.validation.min_side, params.pixel.inference.min_side) <= width <= params.validation.max_side, (down, up)


@pytest.mark.parametrize(("pixel", "problem"), [
    ({"resample_down": [0.2, 1.0], "resample_up": [1.0, 9.0]}, "above validation.max_side 1024"),
    ({"resample_down": [0.2, 1.0], "resample_up": [1.0, 2.0]}, "below pixel.inference.min_side 48"),
])  # fmt: skip
def test_a_resampling_range_that_leaves_the_validated_sizes_is_refused(tmp_path, raw, pixel, problem):
    raw["datasets"]["pixel"].update(pixel)
    with pytest.raises(ConfigError, match=problem) as err:
        load_params(_write(tmp_path, raw))
    assert "datasets.pixel.resample_down" in str(err.value)
