"""Every registered bootstrap builder: builds quickly from a few real tiles, reproduces its
files byte for byte, saves a directory that `from_pretrained` loads and that generates, and
never leaves a half-written model directory behind."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoModel, DDPMPipeline, DiffusionPipeline
from PIL import Image
from skimage import data

from aligngemini.bootstrap import BUILDERS, BuildContext, build_model
from aligngemini.config import BootstrapModel
from aligngemini.errors import AlignGeminiError
from aligngemini.reconstruction.vae import reconstruct
from aligngemini.registry import UnknownEntryError

RESOLUTION = 32
VAE_NAME = "vae"
CAPTIONS = ["a photograph of a cat", "an astronaut in a white space suit", "a cup of coffee"]


def _tiles() -> list[np.ndarray]:
    photos = [data.astronaut(), data.chelsea(), data.coffee()]
    return [photo[y : y + 128, x : x + 128] for photo in photos for y in (0, 128) for x in (0, 128, 256)]


TILES = _tiles()


def _spec(builder: str, name: str | None = None, steps: int = 2, seed: int = 0) -> BootstrapModel:
    # every builder gets the `vae` option: those that do not need it ignore it
    return BootstrapModel(
        name=name or builder,
        builder=builder,
        resolution=RESOLUTION,
        train_steps=steps,
        batch_size=2,
        learning_rate=1e-3,
        seed=seed,
        options={"vae": VAE_NAME},
    )


def _context(spec: BootstrapModel, root: Path) -> BuildContext:
    return BuildContext(spec=spec, out_dir=root / spec.name, models_root=root, real_images=TILES, prompts=CAPTIONS)


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding the autoencoder that latent builders load through options["vae"]."""
    root = tmp_path_factory.mktemp("models")
    build_model(_context(_spec("autoencoder_kl", name=VAE_NAME), root))
    return root


# The VLM builder makes no diffusers model and trains nothing (its tests are in
# tests/semantic/test_vlm_builder.py); every other registered builder is covered here.
DIFFUSERS_BUILDERS = [name for name in BUILDERS.names() if name != "qwen2_5_vl"]


@pytest.fixture(scope="module", params=DIFFUSERS_BUILDERS)
def built_twice(
    request: pytest.FixtureRequest, models_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    folders = []
    for attempt in ("first", "second"):
        root = tmp_path_factory.mktemp(f"{request.param}-{attempt}")
        (root / VAE_NAME).symlink_to(models_root / VAE_NAME)
        build_model(_context(_spec(request.param), root))
        folders.append(root / request.param)
    return folders[0], folders[1]


def test_all_builders_are_registered_on_import() -> None:
    assert {"autoencoder_kl", "vq_model", "autoencoder_tiny", "autoencoder_dc", "stable_diffusion", "stable_diffusion_xl", "pixart", "flux", "ddpm"} <= set(BUILDERS.names())


def test_build_is_byte_identical(built_twice: tuple[Path, Path]) -> None:
    first, second = built_twice
    digests = _digests(first)
    assert any(name.endswith(".safetensors") for name in digests)
    assert digests == _digests(second)


def _generate(folder: Path) -> np.ndarray:
    """One image from the saved directory, as float HxWx3 in [0, 1]."""
    if not (folder / "model_index.json").exists():  # a bare autoencoder: reconstruct a tile as its kind does
        (decoded,) = reconstruct(AutoModel.from_pretrained(str(folder)), [Image.fromarray(TILES[0][:RESOLUTION, :RESOLUTION])], [0], 1)
        return np.asarray(decoded, dtype=np.float32) / 255
    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    accepted = inspect.signature(pipe.__call__).parameters
    kwargs = {"prompt": [CAPTIONS[0]], "guidance_scale": 3.0} if "prompt" in accepted else {"batch_size": 1}
    if "use_resolution_binning" in accepted:
        kwargs["use_resolution_binning"] = False
    if "height" in accepted:  # FluxPipeline defaults to 1024 px, not to its model's training size
        kwargs |= {"height": RESOLUTION, "width": RESOLUTION}
    images = pipe(num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np", **kwargs).images
    assert images.shape[0] == 1
    return images[0]


def test_saved_model_loads_and_generates(built_twice: tuple[Path, Path]) -> None:
    image = _generate(built_twice[0])
    assert image.shape == (RESOLUTION, RESOLUTION, 3)
    assert image.dtype == np.float32
    assert np.isfinite(image).all() and 0.0 <= image.min() and image.max() <= 1.0


def test_different_seeds_give_different_weights(tmp_path: Path) -> None:
    for seed in (0, 1):
        build_model(_context(_spec("ddpm", name=f"seed{seed}", seed=seed), tmp_path))
    assert _digests(tmp_path / "seed0") != _digests(tmp_path / "seed1")


def _interrupt_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ddpm builder die half-way through writing its files."""

    def half_save(self: DDPMPipeline, save_directory: str | Path, **kwargs: object) -> None:
        Path(save_directory).mkdir(parents=True, exist_ok=True)
        (Path(save_directory) / "model_index.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(DDPMPipeline, "save_pretrained", half_save)


def test_interrupted_build_leaves_no_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _interrupt_saving(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        build_model(_context(_spec("ddpm"), tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_rebuild_keeps_the_previous_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_model(_context(_spec("ddpm"), tmp_path))
    before = _digests(tmp_path / "ddpm")
    _interrupt_saving(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        build_model(_context(_spec("ddpm", seed=1), tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["ddpm"]
    assert _digests(tmp_path / "ddpm") == before


def test_rebuild_replaces_the_model_and_clears_leftovers_of_a_killed_build(tmp_path: Path) -> None:
    old = tmp_path / "ddpm"
    old.mkdir()
    (old / "stale.txt").write_text("from an older build")
    leftover = tmp_path / ".ddpm.building-killed"
    leftover.mkdir()
    (leftover / "model_index.json").write_text("{}")
    build_model(_context(_spec("ddpm"), tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["ddpm"]
    assert not (old / "stale.txt").exists()
    assert (old / "model_index.json").is_file()


def test_unknown_builder_fails_before_writing(tmp_path: Path) -> None:
    with pytest.raises(UnknownEntryError, match="no_such_builder"):
        build_model(_context(_spec("no_such_builder"), tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_latent_builder_without_its_autoencoder_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(AlignGeminiError, match="not built yet"):
        build_model(_context(_spec("stable_diffusion"), tmp_path))
    assert list(tmp_path.iterdir()) == []
