"""Real-image sources: a registered kind turns a `RealSource` params entry into the list
of files to ingest. Sources only list files; the defensive loader reads them.

Kinds:
- `embedded`: the camera photographs bundled inside installed wheels (see
  `EMBEDDED_PHOTOS`); works offline, fetches nothing.
- `folder`: every regular file under `source.path`, recursively.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aligngemini.config import RealSource
from aligngemini.errors import ConfigError, UnsafePathError
from aligngemini.paths import resolve_inside
from aligngemini.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    name: str  # stable id within its source, e.g. "skimage/astronaut.png"
    path: Path


SourceLister = Callable[[RealSource], list[SourceFile]]
SOURCES: Registry[SourceLister] = Registry("real-image source")

# Photographs taken with a camera (or telescope/microscope camera), by package and path
# inside the installed package. Left out on purpose: synthetic or non-photographic images
# (skimage's logo, text, page, horse silhouette, chessboards, color wheel, phantom,
# matplotlib's logo2 and Minduka icon), near-blank frames (cell, clock_motion), retina
# (its 1411x1411 frame is mostly black border and would dominate the tile pool),
# microaneurysms (102x102, smaller than a tile) and multi-frame files.
EMBEDDED_PHOTOS: dict[str, tuple[str, ...]] = {
    "skimage": tuple(
        f"data/{name}"
        for name in (
            # colour
            "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg",
            "motorcycle_left.png", "motorcycle_right.png", "ihc.png",
            # greyscale
            "camera.png", "coins.png", "moon.png", "brick.png", "grass.png", "gravel.png",
        )
    ),
    "sklearn": ("datasets/images/china.jpg", "datasets/images/flower.jpg"),
    "matplotlib": ("mpl-data/sample_data/grace_hopper.jpg",),
}  # fmt: skip


def list_source_files(source: RealSource) -> list[SourceFile]:
    return SOURCES.get(source.kind)(source)


def _package_dir(package: str) -> Path | None:
    """The installed package's folder, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@SOURCES.register("embedded")
def embedded_files(source: RealSource) -> list[SourceFile]:
    """The `EMBEDDED_PHOTOS` present in this environment, in table order; a package or
    file missing from an installed version is skipped (and logged), not fetched."""
    files = []
    for package, relatives in EMBEDDED_PHOTOS.items():
        folder = _package_dir(package)
        if folder is None:
            log.warning("package %s is not installed; its photos are skipped", package)
            continue
        for relative in relatives:
            path = folder / relative
            if not path.is_file():
                log.warning("embedded photo %s/%s is not installed; skipped", package, relative)
                continue
            files.append(SourceFile(f"{package}/{path.name}", path))
    return files


@SOURCES.register("folder")
def folder_files(source: RealSource) -> list[SourceFile]:
    """Regular files under `source.path` (relative to the working directory, i.e. the
    project root), sorted by relative path; the name is that relative path.

    The folder may lie anywhere (it is the user's input, not a manifest path), but nothing
    outside it is read: symlinked folders are not descended, and file symlinks that point
    out of it are skipped with a warning. FIFOs, devices and broken links are skipped.
    Non-image files are listed: the loader refuses them and ingest quarantines them.
    """
    if source.path is None:
        raise ConfigError(f"source '{source.name}'", "path", "required for kind 'folder'")
    root = Path(source.path)
    if not root.is_dir():
        raise ConfigError(f"source '{source.name}'", "path", f"{root} is not an existing folder")
    found: dict[str, Path] = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            try:
                resolve_inside(root, path)
            except UnsafePathError as err:
                log.warning("skipped %s", err)
                continue
            if path.is_file():
                found[path.relative_to(root).as_posix()] = path
    return [SourceFile(name, found[name]) for name in sorted(found)]
