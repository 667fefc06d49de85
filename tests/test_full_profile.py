"""The full profile (params.full.yaml) is validated by the same typed config as the embedded
one and names nothing that the offline tests do not exercise: every generator class has a
call convention and a tiny bootstrap builder, whose build is loaded and called here through
the same code; the pixel backbone and its options go through the real builder (on the meta
device: nothing downloaded or allocated); the VLM resolves, through the same Auto class, to
the class the tiny VLM builder saves, and its LoRA pattern adapts only the language model.
Every hub model is pinned to a commit, and each loader loads that commit: a hub cache holds
the tiny build at the pinned commit while the repo's main branch is empty."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from skimage import data
from transformers import AutoConfig, AutoModelForImageTextToText

from aligngemini.bootstrap import BUILDERS, BuildContext, build_model
from aligngemini.config import BootstrapModel, GeneratorEntry, Params, load_params
from aligngemini.config_base import REVISION_PATTERN
from aligngemini.errors import ConfigError
from aligngemini.generation.pipelines import CONVENTIONS, GeneratorLoadError, clear_pipeline_cache, load_pipeline, run_pipeline
from aligngemini.pixel.backbones import BACKBONES, build_backbone
from aligngemini.preflight import model_references
from aligngemini.reconstruction.autoencoders import AUTOENCODERS
from aligngemini.reconstruction.vae import clear_vae_cache, kind_of, load_reconstructor
from aligngemini.semantic.model import load_vlm

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "params.full.yaml"
SIDE = 32
CAPTIONS = ["a photograph of a cat", "an astronaut in a white space suit", "a cup of coffee"]
# model_type in the hub's config.json of each full-profile VLM: facts, as nothing is downloaded
HUB_MODEL_TYPES = {"Qwen/Qwen2.5-VL-7B-Instruct": "qwen2_5_vl"}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def full() -> Params:
    return load_params(FULL)


def _tiles() -> list[np.ndarray]:
    return [photo[:128, :128] for photo in (data.astronaut(), data.chelsea(), data.coffee())]


def _build(root: Path, builder: str, resolution: int = SIDE, steps: int = 1) -> Path:
    spec = BootstrapModel(
        name=builder, builder=builder, resolution=resolution, train_steps=steps, batch_size=2, learning_rate=1e-3,
        seed=0, options={"vae": "autoencoder_kl"},
    )  # fmt: skip
    build_model(BuildContext(spec=spec, out_dir=root / builder, models_root=root, real_images=_tiles(), prompts=CAPTIONS))
    return root / builder


@pytest.fixture(scope="module")
def tiny_pipelines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Every registered diffusers pipeline builder, built once (one training step), by the
    pipeline class its saved model_index.json names."""
    root = tmp_path_factory.mktemp("tiny-pipelines")
    _build(root, "autoencoder_kl")
    built = {}
    for builder in BUILDERS.names():
        if builder in AUTOENCODERS or builder == "qwen2_5_vl":  # bare autoencoders and the VLM: no pipeline
            continue
        folder = _build(root, builder)
        built[json.loads((folder / "model_index.json").read_text())["_class_name"]] = folder
    yield built
    clear_pipeline_cache()


def test_full_profile_validates_with_the_same_keys(full: Params) -> None:
    embedded = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(yaml.safe_load(FULL.read_text())) == set(embedded)
    assert full.bootstrap.models == []
    assert {g.pipeline for g in full.generators} >= {"StableDiffusionPipeline", "FluxPipeline"}
    assert set(full.datasets.heldout_generators) < {g.name for g in full.generators}


def test_every_full_profile_reconstructor_kind_is_exercised_by_the_embedded_profile(full: Params) -> None:
    embedded = load_params(ROOT / "params.yaml")
    assert {e.kind for e in full.reconstruction.reconstructors} <= {e.kind for e in embedded.reconstruction.reconstructors}
    assert len({e.family for e in full.reconstruction.reconstructors}) >= 3
    assert full.datasets.heldout_reconstructors and full.training_reconstructors()


def test_bootstrap_stage_does_nothing_for_the_full_profile(tmp_path: Path) -> None:
    from flows.bootstrap import bootstrap

    params = tmp_path / "params.full.yaml"
    params.write_text(FULL.read_text())
    assert bootstrap.fn(params_path=str(params)) == {}
    models_root = tmp_path / load_params(params).paths.models_root
    assert models_root.is_dir() and not any(models_root.iterdir())
    assert not (tmp_path / "data").exists()  # no pool was read, nothing was written


def test_every_generator_class_has_a_convention_and_a_tiny_builder(full: Params, tiny_pipelines: dict[str, Path]) -> None:
    for entry in full.generators:
        assert entry.pipeline in CONVENTIONS, entry.name
        assert entry.pipeline in tiny_pipelines, f"{entry.name}: no bootstrap builder makes a {entry.pipeline}"


@pytest.mark.parametrize("pipeline", CONVENTIONS.names())
def test_every_convention_generates_from_a_tiny_build(
    pipeline: str, full: Params, tiny_pipelines: dict[str, Path]
) -> None:
    """The full profile's own call (class named explicitly, its steps and guidance) at 32 px."""
    assert pipeline in tiny_pipelines, f"no bootstrap builder makes a {pipeline}"
    used = [g for g in full.generators if g.pipeline == pipeline]
    steps, guidance = (used[0].steps, used[0].guidance) if used else (2, 3.0)
    entry = GeneratorEntry(
        name=f"tiny-{pipeline}", pipeline=pipeline, model=str(tiny_pipelines[pipeline]), steps=steps,
        guidance=guidance, resolution=SIDE, seed=0,
    )  # fmt: skip
    pipe = load_pipeline(entry, ROOT, "cpu")
    assert type(pipe).__name__ == pipeline
    images = run_pipeline(pipe, entry, CAPTIONS[:2], [1, 2], batch_size=2)
    assert [image.size for image in images] == [(SIDE, SIDE)] * 2
    assert np.asarray(images[0]).std() > 0


def test_every_hub_model_is_pinned_to_a_commit(full: Params) -> None:
    refs = model_references(full)
    assert len(refs) == len(full.generators) + len(full.reconstruction.reconstructors) + 2
    assert [ref.who for ref in refs if not re.fullmatch(REVISION_PATTERN, ref.revision or "")] == []


def test_generators_load_at_their_pinned_commit(full: Params, tiny_pipelines: dict[str, Path], hub_cache) -> None:
    for entry in full.generators:
        hub_cache.pin(entry.model, entry.revision, tiny_pipelines[entry.pipeline])
    clear_pipeline_cache()
    try:
        for entry in full.generators:
            assert type(load_pipeline(entry, ROOT, "cpu")).__name__ == entry.pipeline
        with pytest.raises(GeneratorLoadError, match=full.generators[0].model):
            load_pipeline(full.generators[0].model_copy(update={"revision": None}), ROOT, "cpu")  # main: nothing there
    finally:
        clear_pipeline_cache()


def test_reconstructors_load_at_their_pinned_commit(full: Params, tiny_pipelines: dict[str, Path], hub_cache, tmp_path: Path) -> None:
    built = {"autoencoder_kl": next(iter(tiny_pipelines.values())).parent / "autoencoder_kl", "autoencoder_tiny": _build(tmp_path, "autoencoder_tiny")}
    clear_vae_cache()
    try:
        for entry in full.reconstruction.reconstructors:
            hub_cache.pin(entry.model, entry.revision, built[entry.kind], entry.subfolder)
            assert kind_of(load_reconstructor(entry, ROOT, device="cpu", dtype="float32")) is AUTOENCODERS.get(entry.kind), entry.name
    finally:
        clear_vae_cache()


def test_pixel_backbone_builds_from_the_full_options(full: Params) -> None:
    backbone = full.pixel.backbone
    assert backbone.name in BACKBONES
    with torch.device("meta"):  # the real builder, without allocating a ViT-L
        built = build_backbone(backbone.name, crop_size=full.pixel.crop_size, pretrained=False, options=backbone.options)
    vit = built.module.base_model.model
    assert vit.default_cfg["architecture"] + "." + vit.default_cfg["tag"] == backbone.options["model"]
    assert tuple(vit.patch_embed.img_size) == (full.pixel.crop_size,) * 2
    assert vit.pretrained_cfg["hf_hub_id"] == f"timm/{backbone.options['model']}@{backbone.options['revision']}", "timm loads the pinned commit"
    assert built.module.peft_config["default"].r == backbone.options["lora_rank"] == 8


def test_semantic_model_loads_through_the_tiny_builders_class(full: Params, tmp_path: Path, hub_cache) -> None:
    """load_vlm's AutoModelForImageTextToText maps the hub model's type to the class the
    tiny builder saves, at the pinned commit, and the LoRA pattern adapts that class's
    language model only."""
    semantic = full.semantic
    model_type = HUB_MODEL_TYPES[semantic.model]
    tiny = _build(tmp_path, "qwen2_5_vl", resolution=64, steps=0)
    config = AutoConfig.from_pretrained(tiny)
    assert config.model_type == model_type
    model_class = AutoModelForImageTextToText._model_mapping[type(AutoConfig.for_model(model_type))]
    assert config.architectures == [model_class.__name__]
    assert semantic.device == "cuda" and semantic.dtype == "bfloat16" and semantic.lora.modules_to_save == []

    model = AutoModelForImageTextToText.from_config(config)
    adapted = [name for name, _ in model.named_modules() if re.fullmatch(semantic.lora.target_modules, name)]
    assert adapted and all("language_model" in name for name in adapted)
    assert not any("visual" in name for name in adapted)

    hub_cache.pin(semantic.model, semantic.revision, tiny)
    assert type(load_vlm(semantic.model, "float32", "cpu", semantic.revision).model) is model_class


@pytest.mark.parametrize(
    ("path", "typo"),
    [(("semantic", "lora"), "rnak"), (("generators", 3), "guidence"), (("reconstruction", "reconstructors", 0), "subfoler")],
)
def test_a_typo_in_the_full_profile_names_the_key(tmp_path: Path, path: tuple, typo: str) -> None:
    raw = yaml.safe_load(FULL.read_text())
    section = raw
    for part in path:
        section = section[part]
    right = {"rnak": "rank", "guidence": "guidance", "subfoler": "subfolder"}[typo]
    section[typo] = section.pop(right)
    copy = tmp_path / "params.full.yaml"
    copy.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_params(copy)
    assert err.value.key == ".".join(str(part) for part in (*path, typo))
    assert "unknown key" in str(err.value) and str(copy) in str(err.value)
