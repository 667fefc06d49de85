"""The `aligngemini` command line (typer). Each sub-app lives in its own module."""

from __future__ import annotations

import typer

from aligngemini.cli.benchmark import benchmark as benchmark_command
from aligngemini.cli.catalog import app as catalog_app
from aligngemini.cli.check import check as check_command
from aligngemini.cli.datasets import app as datasets_app
from aligngemini.cli.detect import detect as detect_command  # aliased: `aligngemini.cli.detect` stays the module
from aligngemini.cli.generators import app as generators_app
from aligngemini.cli.lineage import app as lineage_app
from aligngemini.cli.models import app as models_app
from aligngemini.cli.profile import profile as profile_command
from aligngemini.cli.serve import serve as serve_command

app = typer.Typer(no_args_is_help=True, help="AlignGemini: AI-generated image detection and its data pipeline.")
app.add_typer(catalog_app, name="catalog")
app.add_typer(generators_app, name="generators")
app.add_typer(datasets_app, name="datasets")
app.add_typer(lineage_app, name="lineage")
app.add_typer(models_app, name="models")
app.command("detect")(detect_command)
app.command("benchmark")(benchmark_command)
app.command("check")(check_command)
app.command("profile")(profile_command)
app.command("serve")(serve_command)
