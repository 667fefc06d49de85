"""`aligngemini serve`: the detection service (HTTP API and web page) over a registered model."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from aligngemini.cli.common import DEFAULT_PARAMS, DeviceOption, DTypeOption, ParamsOption, check_placement, load_project_or_fail


def serve(
    model: Annotated[str, typer.Option("--model", help="Stage (prod) or version (vX.Y.Z) to serve; a stage is followed as it moves.")] = "prod",
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback unless you mean to expose it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    token: Annotated[str | None, typer.Option("--token", help="Bearer token every route but health requires (default: the variable service.token_env names).", show_default=False)] = None,
    device: DeviceOption = None,
    dtype: DTypeOption = None,
    params: ParamsOption = DEFAULT_PARAMS,
) -> None:
    """Serve POST /v1/detect, GET /v1/models, /healthz, /readyz, the OpenAPI docs at /docs and the page at /."""
    project = load_project_or_fail(params)
    check_placement(device, dtype)
    import uvicorn  # the web stack and torch only for serving

    from aligngemini.fusion.detector import FusedDetector
    from aligngemini.model_registry import resolve_model
    from aligngemini.model_registry.tags import versions
    from aligngemini.service.app import create_app
    from aligngemini.service.holder import ModelHolder

    config = project.params.service
    token = token or os.environ.get(config.token_env) or None
    if not token and not _loopback(host):
        typer.echo(f"warning: serving on {host} without a token: anyone who reaches it can use it", err=True)
    holder = ModelHolder(
        resolve=lambda: resolve_model(project, model),
        load=lambda found: FusedDetector.load(found.path, project.root, device=device, dtype=dtype),
    )
    app = create_app(
        holder, config, project.params.images, lambda: versions(project.root, project.params.registry.artifact), token=token,
        watch=not model.startswith("v"),  # a version never moves; a stage may
    )  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="info")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
