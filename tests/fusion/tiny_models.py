"""A real fused model folder built from tiny, untrained branches inside a project folder, and
a folder of good and bad files to detect on. Shared by tests/fusion and the CLI tests (the
session fixture `fused_project` in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image
from skimage import data

from aligngemini.bootstrap import BuildContext, build_model
from aligngemini.config import BootstrapModel
from aligngemini.fusion.model_dir import write_fused_model
from aligngemini.fusion.rules import FusionModel
from aligngemini.pixel.checkpoint import save_checkpoint
from aligngemini.pixel.config import PixelConfig
from aligngemini.pixel.model import build_expert
from aligngemini.semantic.config import SemanticConfig
from aligngemini.semantic.model import attach_lora, load_vlm, save_adapter

BASE_MODEL = "models/embedded/tiny-vlm"  # relative to the project root, as params name it
CAPTIONS = ["a photograph of a cat", "an astronaut in a white space suit", "a cup of coffee on a table"]
OR_FIXED = FusionModel("or_fixed", {"t_pixel": 0.5, "t_semantic": 0.5})


@dataclass(frozen=True)
class FusedProject:
    root: Path
    params: Path
    model_dir: Path
    pixel_checkpoint: Path
    semantic_adapter: Path
    pixel: PixelConfig
    semantic: SemanticConfig


def build_fused_project(params_path: Path) -> FusedProject:
    """Tiny branches (an untrained 32 px efficientnet_lite0; a tiny Qwen2.5-VL with a fresh
    LoRA adapter) and their or_fixed fused model, all under the project of `params_path`."""
    root = params_path.parent
    raw = yaml.safe_load(params_path.read_text())
    pixel = PixelConfig.model_validate(
        raw["pixel"] | {"crop_size": 32, "backbone": {"name": "efficientnet_lite0", "pretrained": False, "options": {}},
                        "inference": {"grid": 2, "min_side": 24, "threshold": 0.5, "batch_size": 8}}  # fmt: skip
    )
    semantic = SemanticConfig.model_validate(raw["semantic"] | {"model": BASE_MODEL, "threads": 1, "eval_batch_size": 3})

    torch.manual_seed(0)
    pixel_dir = save_checkpoint(build_expert(pixel, pretrained=False), pixel, root / "models" / "trained" / "pixel")
    spec = BootstrapModel(
        name="tiny-vlm", builder="qwen2_5_vl", resolution=64, train_steps=0, batch_size=1, learning_rate=1e-3, seed=15
    )
    build_model(BuildContext(spec=spec, out_dir=root / BASE_MODEL, models_root=root / "models" / "embedded", real_images=[], prompts=CAPTIONS))
    vlm = attach_lora(load_vlm(root / BASE_MODEL), semantic.lora, seed=0)
    with torch.no_grad():  # a fresh adapter is a no-op (B = 0); nudge it so loading it matters
        for name, weight in vlm.model.named_parameters():
            if "lora_B" in name:
                weight.normal_(0, 0.02)
    adapter = root / "models" / "trained" / "semantic"
    save_adapter(vlm, adapter, base_model=BASE_MODEL)
    model_dir = write_fused_model(
        root / "models" / "fused", pixel_checkpoint=pixel_dir, semantic_adapter=adapter, semantic_base_model=BASE_MODEL,
        semantic=semantic, pixel=pixel, fusion=OR_FIXED,
    )  # fmt: skip
    return FusedProject(root, params_path, model_dir, pixel_dir, adapter, pixel, semantic)


GOOD = ("astronaut.png", "chelsea.jpg", "coffee.png", "rocket.png")
# file name -> the FileProblem reason in its error
BAD = {
    "broken.jpg": "truncated",
    "notes.txt": "not_an_image",
    "tiny.png": "too_small",  # 8x8: below the loader's min_side (16)
    "small.png": "too_small",  # 20x20: the loader takes it, the pixel expert (min_side 24) refuses it
    "strip.png": "refused_by_semantic_processor",  # 64x13000: aspect ratio above the VLM processor's 200
}


def write_detect_folder(folder: Path) -> dict[str, Path]:
    """96x96 crops of four photos (GOOD) and one file per case of BAD, flat in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = {"astronaut.png": data.astronaut(), "chelsea.jpg": data.chelsea(), "coffee.png": data.coffee(), "rocket.png": data.rocket()}
    for name, pixels in photos.items():
        Image.fromarray(pixels[100:196, 150:246]).save(folder / name)
    whole = (folder / "chelsea.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.txt").write_text("not an image\n")
    Image.new("RGB", (8, 8), "red").save(folder / "tiny.png")
    Image.fromarray(data.astronaut()[:20, :20]).save(folder / "small.png")
    Image.fromarray(np.full((13000, 64, 3), 128, dtype=np.uint8)).save(folder / "strip.png")
    return {name: folder / name for name in (*GOOD, *BAD)}
