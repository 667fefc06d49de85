"""Typed parameters of the detection service (the `service` key of params.yaml)."""

from __future__ import annotations

from pydantic import Field

from aligngemini.config_base import Strict


class ServiceConfig(Strict):
    max_batch: int = Field(default=16, gt=0, description="Most images one batched forward of the branches takes; concurrent requests fill it.")
    max_wait_ms: float = Field(default=20.0, ge=0, description="How long the first image of a batch waits for others to join it before the batch runs.")
    max_files: int = Field(default=32, gt=0, description="Most files one POST /v1/detect may upload; more is a 413.")
    poll_seconds: float = Field(default=30.0, gt=0, description="How often the service asks the registry which version holds the served stage; a new one is loaded in the background and swapped in.")
    token_env: str = Field(default="ALIGNGEMINI_TOKEN", description="Environment variable holding the bearer token every route but health requires (unset: no token; `serve --token` overrides).")
