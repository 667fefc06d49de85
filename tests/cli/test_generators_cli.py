import json

from typer.testing import CliRunner

from aligngemini.cli import app
from flows.generate import generate


def test_generators_list_shows_catalog_counts(two_generator_project):
    params = two_generator_project
    runner = CliRunner()
    before = runner.invoke(app, ["generators", "list", "--params", str(params), "--json"])
    assert before.exit_code == 0, before.output
    assert {row["name"]: row["images"] for row in map(json.loads, before.output.splitlines())} == {"tiny-sd": 0, "tiny-pixart": 0}

    generate(params_path=str(params))
    after = runner.invoke(app, ["generators", "list", "--params", str(params), "--json"])
    assert {row["name"]: row["images"] for row in map(json.loads, after.output.splitlines())} == {"tiny-sd": 6, "tiny-pixart": 6}
    table = runner.invoke(app, ["generators", "list", "--params", str(params)])
    assert "tiny-pixart" in table.output and "models/embedded/tiny-sd" in table.output
