"""The fused model folder: everything `FusedDetector` needs, in one DVC-trackable folder.

    model.json   format, fusion model, semantic base model, prompt, dtype, batch size,
                 pixel inference rule, the device and dtype each branch was trained with
    pixel/       the pixel expert checkpoint (aligngemini.pixel.checkpoint)
    semantic/    the semantic LoRA adapter (aligngemini.semantic.model.save_adapter)

The base VLM is not copied: `semantic_base_model` names it as the params do (a directory
relative to the project root, or a hub id). The same inputs give the same bytes (sorted
JSON keys, no timestamps), so DVC sees the same md5.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from aligngemini.config_base import REVISION_PATTERN, DType, Placement, Strict
from aligngemini.errors import AlignGeminiError
from aligngemini.folders import swap_in
from aligngemini.fusion.rules import FusionError, FusionModel
from aligngemini.pixel.config import InferenceConfig, PixelConfig
from aligngemini.semantic.config import SemanticConfig

FORMAT = "aligngemini-fused-model/1"
INFO = "model.json"
PIXEL_DIR, SEMANTIC_DIR = "pixel", "semantic"


class FusedModelError(AlignGeminiError):
    """A fused model folder is missing or malformed; the message names the file."""


class TrainedOn(Strict):
    pixel: Placement = Field(description="Device and autocast dtype of the pixel expert's training.")
    semantic: Placement = Field(description="Device and weights dtype of the VLM's training.")

    @classmethod
    def of(cls, pixel: PixelConfig, semantic: SemanticConfig) -> "TrainedOn":
        """The placements these configs ask for, as resolved on this machine."""
        from aligngemini.devices import resolve_device  # torch: only where a model is written

        return cls(
            pixel=Placement(device=str(resolve_device(pixel.device)), dtype=pixel.dtype),
            semantic=Placement(device=str(resolve_device(semantic.device)), dtype=semantic.dtype),
        )


class FusedModelInfo(Strict):
    format: Literal["aligngemini-fused-model/1"] = Field(description="Version of this folder's layout.")
    fusion: dict[str, Any] = Field(description="The fitted fusion model (FusionModel.to_dict).")
    semantic_base_model: str = Field(description="Base VLM: a directory relative to the project root, or a hub id.")
    semantic_base_revision: str | None = Field(default=None, pattern=REVISION_PATTERN, description="Hub commit of the base VLM the adapter was trained on (semantic.revision), loaded by detect; None: the hub's main branch, or a local directory.")
    prompt: str = Field(min_length=1, description="The semantic branch's question.")
    dtype: DType = Field(description="Weights dtype of the base VLM.")
    eval_batch_size: int = Field(gt=0, description="Images per semantic forward pass.")
    semantic_max_side: int | None = Field(default=None, description="Longer side an image is resized down to before the VLM sees it (semantic.max_side); None in folders written before it was recorded, which leave sizes to the processor.")
    pixel_inference: InferenceConfig = Field(description="The pixel expert's multi-crop inference rule.")
    trained_on: TrainedOn | None = Field(default=None, description="The device and dtype each branch was trained with, as resolved on the machine that wrote this folder (detect loads the branches that way unless told otherwise); None in folders written before it was recorded, which load on the CPU in float32.")

    @field_validator("fusion")
    @classmethod
    def _fusion_model(cls, document: dict[str, Any]) -> dict[str, Any]:
        try:
            FusionModel.from_dict(document)
        except FusionError as exc:
            raise ValueError(str(exc)) from None
        return document

    @property
    def fusion_model(self) -> FusionModel:
        return FusionModel.from_dict(self.fusion)


def write_fused_model(
    out_dir: str | Path,
    *,
    pixel_checkpoint: Path,
    semantic_adapter: Path,
    semantic_base_model: str,
    semantic: SemanticConfig,
    pixel: PixelConfig,
    fusion: FusionModel,
) -> Path:
    """Copy both branch folders into `out_dir` with a `model.json`; `out_dir` is replaced
    whole, so a reader never sees a half-written model."""
    out_dir = Path(out_dir)
    info = FusedModelInfo(
        format=FORMAT,
        fusion=fusion.to_dict(),
        semantic_base_model=semantic_base_model,
        semantic_base_revision=semantic.revision,
        prompt=semantic.prompt,
        dtype=semantic.dtype,
        eval_batch_size=semantic.eval_batch_size,
        semantic_max_side=semantic.max_side,
        pixel_inference=pixel.inference,
        trained_on=TrainedOn.of(pixel, semantic),
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.writing-{uuid.uuid4().hex}"
    try:
        staging.mkdir()
        for source, name in ((Path(pixel_checkpoint), PIXEL_DIR), (Path(semantic_adapter), SEMANTIC_DIR)):
            if not source.is_dir():
                raise FusedModelError(f"{source}: the {name} branch folder does not exist")
            # copyfile, not copy2: no timestamps or permissions travel with the bytes
            shutil.copytree(source, staging / name, copy_function=shutil.copyfile)
        document = json.dumps(info.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        (staging / INFO).write_text(document, encoding="utf-8")
        swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def read_model_info(model_dir: str | Path) -> FusedModelInfo:
    """The validated `model.json` of `model_dir`."""
    path = Path(model_dir) / INFO
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FusedModelError(f"{path}: not a fused model folder: cannot read {INFO}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise FusedModelError(f"{path}: not valid JSON: {exc}") from None
    try:
        return FusedModelInfo.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"]) or "<root>"
        problem = {"missing": "required key is missing", "extra_forbidden": "unknown key"}.get(err["type"], err["msg"])
        raise FusedModelError(f"{path}: key '{key}': {problem}") from None
