"""The real pool as arrays: the tiles listed in a real-image manifest, decoded defensively
from paths that must stay inside the data root, split into the part bootstrap models may
train on and the held-out photos they never see."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aligngemini.config import ImageLimits
from aligngemini.images.loader import load_image
from aligngemini.manifest import read_manifest
from aligngemini.paths import resolve_inside


def is_holdout_photo(photo_sha256: str, fraction: float) -> bool:
    """Decided by the photo's hash alone, so every tile of a photo falls on the same side
    and the rule needs no state (benchmarks recompute it)."""
    return int(photo_sha256[:8], 16) / 0x1_0000_0000 < fraction


def load_tiles(
    manifest: Path, data_root: Path, project_root: Path, limits: ImageLimits, holdout_fraction: float, holdout: bool = False
) -> list[np.ndarray]:
    """uint8 HxWx3 arrays of the tiles (rows with a parent photo), in manifest order: those
    of training photos, or with `holdout=True` those of held-out photos. Manifest paths are
    relative to `project_root`."""
    rows = [
        r for r in read_manifest(manifest)
        if r["parent_sha256"] and is_holdout_photo(r["parent_sha256"], holdout_fraction) == holdout
    ]
    return [np.asarray(load_image(resolve_inside(data_root, r["path"], base=project_root), limits).image) for r in rows]
