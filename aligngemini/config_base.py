"""The base of every typed params model, apart from `aligngemini.config` so the branches'
configs (which `Params` includes) can share it without a circular import."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
