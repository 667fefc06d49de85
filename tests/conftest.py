"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile

# Before anything imports Prefect: one private Prefect home per test session, no telemetry,
# a startup timeout that suits 2 busy cores, and no hub access for transformers/diffusers.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="aligngemini-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ["DVC_NO_ANALYTICS"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

import hashlib
import shutil
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml
from PIL import Image

import aligngemini.images.loader
from aligngemini.config import ImageLimits
from aligngemini.project import Project


@dataclass(frozen=True)
class HostileFolder:
    """A folder of good and bad image files (see `hostile_folder`)."""

    root: Path
    files: dict[str, Path]  # case name -> path
    refused: dict[str, str] = field(default_factory=dict)  # case name -> FileProblem.reason (default limits)

    @property
    def accepted(self) -> list[str]:
        return [name for name in self.files if name not in self.refused]


def _skimage_photo(name: str, box: tuple[int, int, int, int]) -> Image.Image:
    with Image.open(files("skimage") / "data" / name) as image:
        return image.convert("RGB").crop(box)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG (valid CRCs) whose IHDR claims width x height RGB pixels, with
    almost no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> HostileFolder:
    """Writes one file per case into a fresh folder.

    Accepted under the default limits of params.yaml (after conversion to RGB):
    - `good_jpeg`: 320x256 crop of skimage's astronaut, JPEG q90;
    - `good_png`: 384x272 crop of skimage's coffee, PNG;
    - `cmyk_jpeg`: 256x192 crop of coffee converted to CMYK, JPEG q95;
    - `png16`: 16-bit greyscale PNG (`I;16`), 256x160, a horizontal gradient 0..65535;
    - `exif_rotated`: 320x192 JPEG stored landscape with EXIF orientation 6, so it
      loads as 192x320 (portrait).
    Refused (reason in `refused`):
    - `truncated_jpeg`: the first half of a JPEG (truncated);
    - `text_png`: a text file named `.png` (not_an_image);
    - `bomb_png`: a valid PNG whose IHDR claims 30000x30000 (too_large, caught by
      Pillow's own bomb check when the header is parsed);
    - `big_header_png`: the same with 8000x6000, under Pillow's limit but over
      max_pixels (too_large, caught by the loader's own header check);
    - `animated_gif`: a 3-frame 160x160 GIF (animated, under the default `refuse`
      policy; `first_frame` accepts it).
    """
    root = tmp_path_factory.mktemp("hostile")
    paths = {
        name: root / filename
        for name, filename in {
            "good_jpeg": "astronaut.jpg",
            "good_png": "coffee.png",
            "cmyk_jpeg": "cmyk.jpg",
            "png16": "gradient16.png",
            "exif_rotated": "rotated.jpg",
            "truncated_jpeg": "truncated.jpg",
            "text_png": "notes.png",
            "bomb_png": "bomb.png",
            "big_header_png": "big_header.png",
            "animated_gif": "animated.gif",
        }.items()
    }

    astronaut = _skimage_photo("astronaut.png", (96, 0, 416, 256))
    coffee = _skimage_photo("coffee.png", (100, 64, 484, 336))
    astronaut.save(paths["good_jpeg"], quality=90)
    coffee.save(paths["good_png"])
    coffee.crop((0, 0, 256, 192)).convert("CMYK").save(paths["cmyk_jpeg"], quality=95)

    gradient = np.repeat(np.linspace(0, 65535, 256).round().astype(np.uint16)[None, :], 160, axis=0)
    Image.fromarray(gradient).save(paths["png16"])

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    astronaut.crop((0, 0, 320, 192)).save(paths["exif_rotated"], quality=90, exif=exif.tobytes())

    whole = paths["good_jpeg"].read_bytes()
    paths["truncated_jpeg"].write_bytes(whole[: len(whole) // 2])
    paths["text_png"].write_text("these are notes, not pixels\n")
    paths["bomb_png"].write_bytes(_png_claiming(30000, 30000))
    paths["big_header_png"].write_bytes(_png_claiming(8000, 6000))

    frames = [Image.new("RGB", (160, 160), colour) for colour in ("red", "green", "blue")]
    frames[0].save(paths["animated_gif"], save_all=True, append_images=frames[1:], duration=100, loop=0)

    refused = {
        "truncated_jpeg": "truncated",
        "text_png": "not_an_image",
        "bomb_png": "too_large",
        "big_header_png": "too_large",
        "animated_gif": "animated",
    }
    return HostileFolder(root, paths, refused)


@pytest.fixture
def one_torch_thread():
    """Float results (and timings) do not depend on how many cores the machine lends."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def image_limits() -> ImageLimits:
    """The limits of the default params.yaml, written out so these tests do not move
    when the params file is tuned."""
    return ImageLimits(max_pixels=40_000_000, max_bytes=52_428_800, min_side=16, animated="refuse")


@dataclass(frozen=True)
class HubCache:
    """A Hugging Face hub cache (the layout `huggingface_hub` reads offline) in a temp dir."""

    root: Path

    def pin(self, repo_id: str, revision: str, folder: Path, subfolder: str | None = None) -> None:
        """`folder`'s files as `repo_id` at commit `revision` (under `subfolder`), while the
        repo's main branch points at an empty commit: only a load at `revision` finds them."""
        repo = self.root / f"models--{repo_id.replace('/', '--')}"
        target = repo / "snapshots" / revision / (subfolder or "")
        shutil.copytree(folder, target, dirs_exist_ok=True)
        (repo / "snapshots" / EMPTY_COMMIT).mkdir(exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(EMPTY_COMMIT)


EMPTY_COMMIT = "e" * 40


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> HubCache:
    """Loaders read this cache (HF_HUB_OFFLINE is set for the whole session)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return HubCache(tmp_path / "hub")


ROOT = Path(__file__).resolve().parents[1]
TEST_PROMPTS = ["a cat on a table", "a rocket at dawn", "a red flower"]


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the whole session; its URL is in PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


def make_project(root: Path, edit: Callable[[dict], None] | None = None, prompts: list[str] | None = None) -> Path:
    """A project folder holding params.yaml (optionally edited), the caption corpus and a
    prompt bank; returns the params path. Paths inside resolve against `root`."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    if edit is not None:
        edit(params)
    (root / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data" / "captions.txt", root / "data" / "captions.txt")
    bank = root / "data" / "prompts.txt"
    if prompts is None:
        shutil.copy(ROOT / "data" / "prompts.txt", bank)
    else:
        bank.write_text("\n".join(prompts) + "\n")
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def embedded_project(prefect_server, tmp_path_factory) -> Path:
    """The embedded profile's real pool and models, built once per session with the
    project's own params (ingest, then bootstrap)."""
    from flows.bootstrap import bootstrap
    from flows.ingest import ingest

    params = make_project(tmp_path_factory.mktemp("embedded"))
    ingest(params_path=str(params))
    bootstrap(params_path=str(params))
    return params


@pytest.fixture
def generation_project(embedded_project, tmp_path) -> Callable[..., Path]:
    """Factory of fresh projects (own catalog, store, a 3-prompt bank and 2 images per
    prompt, so 6 images per generator) that reuse the session's models, so each generation
    test starts from an empty catalog."""
    counter = iter(range(100))

    def factory(edit: Callable[[dict], None] | None = None) -> Path:
        def small(params: dict) -> None:
            params["generation"]["images_per_prompt"] = 2
            if edit:
                edit(params)

        root = tmp_path / f"project{next(counter)}"
        params = make_project(root, small, TEST_PROMPTS)
        shutil.copytree(embedded_project.parent / "models", root / "models")
        return params

    return factory


@pytest.fixture
def new_project(tmp_path) -> Callable[..., Path]:
    """Factory of empty projects with the repository's params (optionally edited)."""
    counter = iter(range(100))
    return lambda edit=None, prompts=None: make_project(tmp_path / f"new{next(counter)}", edit, prompts)


def _drop_last_generator(params: dict) -> None:
    """Keeps tiny-sd and tiny-pixart; the dropped one leaves the held-out list too."""
    dropped = params["generators"].pop()["name"]
    params["datasets"]["heldout_generators"] = [g for g in params["datasets"]["heldout_generators"] if g != dropped]


@pytest.fixture
def two_generator_project(generation_project) -> Path:
    """A generation project registering only the first two generators."""
    return generation_project(edit=_drop_last_generator)


@pytest.fixture(scope="session")
def pipeline_project(embedded_project, tmp_path_factory) -> Path:
    """The embedded pipeline run through validation once per session, on a copy of the
    session's models and real pool, with the repository's prompt bank."""
    from flows.build_datasets import build_datasets
    from flows.generate import generate
    from flows.reconstruct import reconstruct
    from flows.validate import validate

    root = tmp_path_factory.mktemp("pipeline")
    params = make_project(root)
    shutil.copytree(embedded_project.parent / "models", root / "models")
    shutil.copytree(embedded_project.parent / "data" / "real", root / "data" / "real")
    for flow_fn in (generate, reconstruct, build_datasets, validate):
        flow_fn(params_path=str(params))
    return params


@pytest.fixture(scope="session")
def fused_project(tmp_path_factory):
    """A project with tiny real branches and their fused model folder (tests/fusion/tiny_models.py)."""
    from tests.fusion.tiny_models import build_fused_project

    return build_fused_project(make_project(tmp_path_factory.mktemp("fused")))


@contextmanager
def opened_images(project: Project) -> Iterator[set[str]]:
    """Every image file decoded while the block runs (as sha256 of the file's bytes),
    whichever module decodes it: all of them go through the defensive loader."""
    opened: set[str] = set()
    real_load = aligngemini.images.loader.load_image

    def spy(path, limits, *args, **kwargs):
        path = Path(path) if Path(path).is_absolute() else project.root / path
        opened.add(hashlib.sha256(path.read_bytes()).hexdigest())
        return real_load(path, limits, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module in ("aligngemini.project", "aligngemini.semantic.data"):
            patch.setattr(f"{module}.load_image", spy)
        yield opened


@dataclass(frozen=True)
class TrainedProject:
    """The session's pipeline project with both branches trained once (repository params):
    each branch's final metrics and the images its training opened."""

    params: Path
    metrics: dict[str, dict]
    opened: dict[str, set[str]]

    @property
    def project(self) -> Project:
        return Project.load(self.params)


@pytest.fixture(scope="session")
def trained_project(pipeline_project) -> TrainedProject:
    from flows.train_pixel import train_pixel
    from flows.train_semantic import train_semantic

    project = Project.load(pipeline_project)
    metrics, opened = {}, {}
    for branch, train in (("pixel", train_pixel), ("semantic", train_semantic)):
        with opened_images(project) as seen:
            metrics[branch] = train(params_path=str(pipeline_project))
        opened[branch] = seen
    return TrainedProject(pipeline_project, metrics, opened)
