"""`aligngemini lineage ...`: where a model, an image or a generator came from and what it went into."""

from __future__ import annotations

from collections.abc import Callable

import typer

from aligngemini.catalog.lineage import generator_lineage, image_lineage, model_lineage
from aligngemini.cli.common import DEFAULT_PARAMS, CatalogOption, JsonOption, ParamsOption, code_state, existing_catalog, fail, load_project_or_fail, print_json
from aligngemini.errors import AlignGeminiError
from aligngemini.model_registry.resolve import names_a_stage, version_of

app = typer.Typer(no_args_is_help=True, help="Lineage from the catalog: models, images, generators.")


def _query(query: Callable[[], dict]) -> dict:
    try:
        return query()
    except AlignGeminiError as exc:
        fail(str(exc))


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


@app.command("model")
def model(
    version: str = typer.Argument(help="a model version, e.g. v0.0.2, its tag name@v0.0.2, or a stage such as prod"),
    name: str | None = typer.Option(None, "--name", help="the model's name, when several models have this version"),
    params: ParamsOption = DEFAULT_PARAMS,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model version: its datasets, generators, branch trainings and gate decisions."""
    db = existing_catalog(params, catalog)
    if names_a_stage(version):  # stages live in the registry's git tags, not in the catalog
        project = load_project_or_fail(params)
        version = _query(lambda: version_of(project, version))
    found = _query(lambda: model_lineage(db, version, name))
    if as_json:
        print_json(found)
        return
    m = found["model"]
    typer.echo(f"model {m['tag']}  artifact md5 {m['artifact_md5']}  fusion {m['fusion_rule']}")
    typer.echo(f"  code: {code_state(m)}  params hash {m['params_hash'][:12]}  created {m['created_at']}")
    fused = {name: sets.get("clean", {}).get("fused", {}) for name, sets in m["metrics"].get("sets", {}).items()}
    typer.echo("  fused balanced accuracy (clean): " + ", ".join(f"{name} {f.get('balanced_accuracy')}" for name, f in fused.items()))
    typer.echo("datasets:")
    for d in found["datasets"]:
        state = ("valid" if d["validation_success"] else "INVALID") if d["recorded"] else "not recorded"
        typer.echo(f"  {d['branch']:<9} {d['name']:<9} {d['md5']}  {d.get('rows') or '-'} rows  {state}")
    typer.echo("generators (distinct generated images reaching the datasets):")
    for g in found["generators"]:
        typer.echo(f"  {g['name']:<20} {g['images']:>8}")
    typer.echo("trainings:")
    for t in found["trainings"]:
        typer.echo(f"  {t['branch']:<9} checkpoint {_short(t['checkpoint_sha256'])}  dataset {t['dataset_md5']}  {t['train_seconds']:.0f} s")
    typer.echo("decisions:")
    for d in found["decisions"]:
        verdict = "promoted" if d["promoted"] else "refused"
        typer.echo(f"  {d['decided_at']}  {d['stage']}: {verdict} (baseline {d['baseline_version'] or '-'}): {d['reason']}")
    typer.echo("benchmarks:")
    for b in found["benchmarks"]:
        typer.echo(f"  {b['created_at']}  {b['name']}: {b['images']} images, {b['errors']} failed, {', '.join(b['conditions'])}  {b['report_dir']}")


@app.command("image")
def image(
    sha256: str = typer.Argument(help="an image's sha256, or a unique prefix of at least 8 hex digits"),
    params: ParamsOption = DEFAULT_PARAMS,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """An image: its ancestors, descendants, the dataset versions holding it and the models trained on them."""
    db = existing_catalog(params, catalog)
    found = _query(lambda: image_lineage(db, sha256))
    if as_json:
        print_json(found)
        return
    i = found["image"]
    typer.echo(f"image {i['sha256']}  {i['kind']}  generator {i['generator'] or '-'}  {i['path']}")
    typer.echo(f"  transform {i['transform'] or '-'}  created {i['created_at']}")
    typer.echo("ancestors (nearest first):")
    for a in found["ancestors"]:
        typer.echo(f"  {a['depth']:>2} {a['sha256']}  {a['kind']:<14} {a['transform'] or '-'}")
    typer.echo("descendants:")
    for d in found["descendants"]:
        typer.echo(f"  {d['depth']:>2} {d['sha256']}  {d['kind']:<14} {d['transform'] or '-'}")
    typer.echo("datasets:")
    for d in found["datasets"]:
        typer.echo(f"  {d['name']:<9} {d['md5']}  {d['split']:<8} {d['label']:<5} via {_short(d['sha256'])}")
    typer.echo("models:")
    for m in found["models"]:
        typer.echo(f"  {m['name']}@{m['version']}")


@app.command("generator")
def generator(
    name: str = typer.Argument(help="a generator's name"),
    params: ParamsOption = DEFAULT_PARAMS,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """A generator: its images, the dataset versions they reached and the models trained on them."""
    db = existing_catalog(params, catalog)
    found = _query(lambda: generator_lineage(db, name))
    if as_json:
        print_json(found)
        return
    g = found["generator"]
    registry = f"{g['pipeline']} {g['model']}, registered {g['registered_at']}" if g else "not in the registry"
    typer.echo(f"generator {found['name']}  ({registry})")
    typer.echo(f"  {found['images']} images, first {found['first_created_at'] or '-'}, last {found['last_created_at'] or '-'}")
    typer.echo("  e.g. " + (", ".join(_short(s) for s in found["examples"]) or "-"))
    typer.echo("datasets (distinct images of it reaching each version):")
    for d in found["datasets"]:
        typer.echo(f"  {d['name']:<9} {d['md5']}  {d['images']:>8} images  {d['members']:>8} members")
    typer.echo("models:")
    for m in found["models"]:
        typer.echo(f"  {m['name']}@{m['version']}")
