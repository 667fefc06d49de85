"""A project is a params file plus the folder it sits in: every relative path in the
params resolves against that folder, so a copied project (a test's tmp dir, a CI clone)
works wherever it lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from aligngemini.catalog.records import ImageKind
from aligngemini.config import Params, load_params
from aligngemini.images.loader import load_image
from aligngemini.images.store import ImageStore
from aligngemini.paths import resolve_inside

# One store folder per image kind: each is the output of exactly one DVC stage.
STORE_DIRS: dict[ImageKind, str] = {"real": "real", "generated": "generated", "reconstruction": "reconstructions"}
MANIFEST_NAME = "manifest.parquet"


@dataclass(frozen=True)
class Project:
    root: Path
    params: Params

    @classmethod
    def load(cls, params_path: str | Path = "params.yaml") -> "Project":
        params_path = Path(params_path).resolve()
        return cls(params_path.parent, load_params(params_path))

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def data_root(self) -> Path:
        return self.path(self.params.paths.data_root)

    @property
    def models_root(self) -> Path:
        return self.path(self.params.paths.models_root)

    def checkpoint(self, branch: str) -> Path:
        return self.path(self.params.paths.checkpoints) / branch

    @property
    def catalog(self) -> Path:
        return self.path(self.params.paths.catalog)

    @property
    def staging(self) -> Path:
        return self.path(self.params.paths.staging)

    def store(self, kind: ImageKind) -> ImageStore:
        return ImageStore(self.data_root / STORE_DIRS[kind], self.root)

    def load_image(self, path: str) -> Image.Image:
        """Pixels of a stored image named by a manifest or catalog path, which must resolve
        inside the data root; decoded with the same defensive loader as any input."""
        return load_image(resolve_inside(self.data_root, path, base=self.root), self.params.images).image

    def dataset_store(self, name: str) -> ImageStore:
        """Where the images derived while building dataset `name` go (its DVC output)."""
        return ImageStore(self.data_root / "datasets" / name, self.root)

    def dataset_manifest(self, name: str) -> Path:
        return self.data_root / "datasets" / name / MANIFEST_NAME

    @property
    def reports(self) -> Path:
        return self.path(self.params.paths.reports)

    def manifest(self, kind: ImageKind) -> Path:
        return self.data_root / STORE_DIRS[kind] / MANIFEST_NAME
