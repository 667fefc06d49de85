from pathlib import Path

import pytest
import yaml

from aligngemini.config import Params, load_params
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


def test_duplicate_generator_names_refused(tmp_path, raw):
    raw["generators"].append(dict(raw["generators"][0]))
    with pytest.raises(ConfigError, match="unique"):
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
