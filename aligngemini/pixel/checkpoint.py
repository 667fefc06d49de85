"""Checkpoint of a pixel expert: a folder with `model.safetensors` (every weight, frozen
ones included, so loading needs neither the hub nor the packaged weights) and
`pixel.json` (the `PixelConfig` it was trained with, enough to rebuild the module).

Each file is written atomically (`aligngemini.atomic`); the weights go first and the
config last, so a folder with a config always has the weights it describes."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_model, save_model

from aligngemini.atomic import write_atomic, write_with
from aligngemini.errors import AlignGeminiError
from aligngemini.pixel.config import PixelConfig
from aligngemini.pixel.model import PixelExpert, build_expert

WEIGHTS = "model.safetensors"
CONFIG = "pixel.json"
FORMAT = "aligngemini-pixel-expert/1"


def save_checkpoint(expert: PixelExpert, config: PixelConfig, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_with(directory / WEIGHTS, lambda temp: save_model(expert, temp, metadata={"format": FORMAT}))
    document = json.dumps({"format": FORMAT, "pixel": config.model_dump(mode="json")}, indent=2, sort_keys=True)
    write_atomic(directory / CONFIG, document + "\n")
    return directory


def load_checkpoint(directory: str | Path) -> tuple[PixelExpert, PixelConfig]:
    """The expert saved in `directory` (in eval mode) and its config."""
    directory = Path(directory)
    try:
        document = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AlignGeminiError(f"{directory}: not a pixel expert checkpoint: cannot read {CONFIG}: {exc}") from None
    if document.get("format") != FORMAT:
        raise AlignGeminiError(f"{directory / CONFIG}: format {document.get('format')!r}, expected {FORMAT!r}")
    config = PixelConfig.model_validate(document["pixel"])
    expert = build_expert(config, pretrained=False)
    load_model(expert, directory / WEIGHTS, strict=True)
    return expert.eval(), config
