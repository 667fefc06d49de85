"""The real pool as arrays: the tiles listed in a real-image manifest, decoded defensively
from paths that must stay inside the data root."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aligngemini.config import ImageLimits
from aligngemini.images.loader import load_image
from aligngemini.manifest import read_manifest
from aligngemini.paths import resolve_inside


def load_tiles(manifest: Path, data_root: Path, project_root: Path, limits: ImageLimits) -> list[np.ndarray]:
    """uint8 HxWx3 arrays of every tile (rows with a transform), in manifest order; manifest
    paths are relative to `project_root`."""
    rows = [r for r in read_manifest(manifest) if r["transform"]]
    return [np.asarray(load_image(resolve_inside(data_root, r["path"], base=project_root), limits).image) for r in rows]
