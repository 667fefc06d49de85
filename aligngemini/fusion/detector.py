"""The fused detector: both branches and the fusion, on decoded images or on files.

Files are scored in chunks bounded by decoded pixels (`images.max_batch_pixels`), so a
folder of 40 MP photos holds a few of them at a time, not a few hundred: each file is
decoded with the defensive loader, a chunk's images go through each branch in batches (the
branches batch internally), and the fusion combines the scores. Each branch gets the image
prepared for it: the pixel expert its native-resolution crops, the VLM a copy no larger
than `semantic_max_side`. A file that cannot be scored (undecodable, too small for the
pixel expert, refused by the VLM's processor) gets a `Detection` carrying the error; the
rest of its chunk is scored as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from aligngemini.config import ImageLimits
from aligngemini.config_base import DType, Placement
from aligngemini.errors import FileProblem
from aligngemini.fusion.model_dir import PIXEL_DIR, SEMANTIC_DIR, TrainedOn, read_model_info
from aligngemini.fusion.rules import FAKE, REAL, FusionModel
from aligngemini.images.loader import load_image
from aligngemini.pixel.checkpoint import load_checkpoint
from aligngemini.pixel.config import InferenceConfig
from aligngemini.pixel.infer import image_crops, p_fake
from aligngemini.pixel.model import PixelExpert
from aligngemini.semantic.model import SemanticVLM, load_detector
from aligngemini.semantic.score import score

CHUNK = 256  # at most this many files per chunk, however small, so one chunk's results come back soon
Transform = Callable[[Image.Image], Image.Image]


class SemanticRefusedError(FileProblem):
    reason = "refused_by_semantic_processor"


@dataclass(frozen=True)
class Detection:
    path: str
    label: str | None  # "real" or "fake"; None when the file could not be scored
    p_fake: float | None  # fused score; fake iff above 0.5
    p_semantic: float | None
    p_pixel: float | None
    error: str | None  # names the file and the problem


def fit_within(image: Image.Image, max_side: int | None) -> Image.Image:
    """`image` resized so that its longer side is at most `max_side` (aspect ratio kept,
    never enlarged); unchanged when it already fits or `max_side` is None."""
    if max_side is None or max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)  # reducing_gap: a 40 MP photo in a fraction of the time


def resolve_base_model(model: str, project_root: Path) -> str:
    """A model naming an existing directory relative to `project_root` loads from there;
    anything else is a hub id (the rule of aligngemini.generation.pipelines.resolve_model,
    which would import diffusers)."""
    local = Path(project_root) / model
    return str(local.resolve()) if local.is_dir() else model


@dataclass(frozen=True)
class FusedDetector:
    expert: PixelExpert
    pixel_inference: InferenceConfig
    vlm: SemanticVLM
    prompt: str
    batch_size: int  # images per semantic forward pass
    fusion: FusionModel
    semantic_max_side: int | None = None  # longer side of what the VLM sees (None: the processor decides)

    @classmethod
    def load(cls, model_dir: str | Path, project_root: str | Path, device: str | None = None, dtype: DType | None = None) -> "FusedDetector":
        """The fused model in `model_dir`, each branch on the device and in the dtype it was
        trained with (model.json's `trained_on`) unless `device` / `dtype` say otherwise.
        A recorded 'cuda' on a machine without CUDA runs on the CPU after one warning."""
        model_dir = Path(model_dir)
        info = read_model_info(model_dir)
        trained = info.trained_on or TrainedOn(pixel=Placement(device="cpu", dtype="float32"), semantic=Placement(device="cpu", dtype=info.dtype))
        expert, _ = load_checkpoint(model_dir / PIXEL_DIR)
        expert.place(device or trained.pixel.device, dtype or trained.pixel.dtype)
        base = resolve_base_model(info.semantic_base_model, Path(project_root))
        vlm = load_detector(base, model_dir / SEMANTIC_DIR, dtype or trained.semantic.dtype, device or trained.semantic.device, info.semantic_base_revision)
        return cls(expert, info.pixel_inference, vlm, info.prompt, info.eval_batch_size, info.fusion_model, info.semantic_max_side)

    def branch_scores(self, images: Sequence[Image.Image], names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(p_pixel, p_semantic) of RGB `images`, as float64 arrays; errors name images by `names`."""
        p_pixel = p_fake(self.expert, images, self.pixel_inference, names).astype(np.float64)
        return p_pixel, score(self.vlm, self._for_semantic(images), self.prompt, self.batch_size)

    def _for_semantic(self, images: Sequence[Image.Image]) -> list[Image.Image]:
        return [fit_within(image, self.semantic_max_side) for image in images]

    def detect_paths(self, paths: Sequence[str | Path], limits: ImageLimits, transform: Transform | None = None) -> list[Detection]:
        """One `Detection` per path, in order; `transform` (a perturbation) is applied to
        each decoded image before both branches see it."""
        return list(self.iter_detect_paths(paths, limits, transform))

    def iter_detect_paths(self, paths: Iterable[str | Path], limits: ImageLimits, transform: Transform | None = None) -> Iterator[Detection]:
        """`detect_paths` as a stream: each chunk's detections are yielded as soon as it is
        scored, and a path is read only when its chunk is formed."""
        chunk: list[tuple[str, Image.Image | str]] = []  # (path, decoded image or its error)
        pixels = 0
        for path in map(str, paths):
            try:
                image = load_image(Path(path), limits).image
                decoded: Image.Image | str = transform(image) if transform else image
            except FileProblem as problem:
                decoded = str(problem)
            size = decoded.width * decoded.height if isinstance(decoded, Image.Image) else 0
            if chunk and (pixels + size > limits.max_batch_pixels or len(chunk) == CHUNK):
                yield from self._detect_chunk(chunk)
                chunk, pixels = [], 0
            chunk.append((path, decoded))
            pixels += size
        yield from self._detect_chunk(chunk)

    def _detect_chunk(self, chunk: list[tuple[str, Image.Image | str]]) -> list[Detection]:
        decoded = [(path, image) for path, image in chunk if isinstance(image, Image.Image)]
        scored = iter(self.detect_images([path for path, _ in decoded], [image for _, image in decoded]) if decoded else [])
        return [Detection(path, None, None, None, None, image) if isinstance(image, str) else next(scored) for path, image in chunk]

    def detect_images(self, names: Sequence[str], images: Sequence[Image.Image]) -> list[Detection]:
        """One `Detection` per decoded RGB image, in order; `names` (as many) name them in
        results and errors. An image a branch cannot take gets its error, the rest are scored."""
        if len(names) != len(images):
            raise ValueError(f"{len(names)} names for {len(images)} images")
        errors: dict[int, str] = {}
        good: list[int] = []  # indices of the images still in the running
        for index, (name, image) in enumerate(zip(names, images)):
            try:
                image_crops(image, self.expert.crop_size, self.pixel_inference, name)  # refuses what the expert cannot take
            except FileProblem as problem:
                errors[index] = str(problem)
            else:
                good.append(index)
        p_semantic, refused = self._semantic_scores(self._for_semantic([images[i] for i in good]), [names[i] for i in good])
        for position, problem in refused.items():
            errors[good[position]] = str(problem)
        keep = [position for position in range(len(good)) if position not in refused]
        good, p_semantic = [good[p] for p in keep], p_semantic[keep]
        p_pixel = p_fake(self.expert, [images[i] for i in good], self.pixel_inference, [names[i] for i in good]).astype(np.float64)
        fused = self.fusion.p_fake(p_pixel, p_semantic)
        detections = [Detection(name, None, None, None, None, errors.get(index)) for index, name in enumerate(names)]
        for index, p, sem, pix in zip(good, fused, p_semantic, p_pixel):
            detections[index] = Detection(names[index], FAKE if p > 0.5 else REAL, float(p), float(sem), float(pix), None)
        return detections

    def _semantic_scores(self, images: list[Image.Image], names: list[str]) -> tuple[np.ndarray, dict[int, SemanticRefusedError]]:
        """p_semantic of `images` (NaN where refused) and the images the VLM's processor
        refuses (a ValueError, e.g. an aspect ratio above 200). A list that fails is
        scored again in halves, so a refusal costs a few extra passes, never a crash."""
        scores = np.full(len(images), np.nan)
        refused: dict[int, SemanticRefusedError] = {}

        def run(low: int, high: int) -> None:
            try:
                scores[low:high] = score(self.vlm, images[low:high], self.prompt, self.batch_size)
            except ValueError as exc:
                if high - low == 1:
                    refused[low] = SemanticRefusedError(names[low], str(exc))
                    return
                middle = (low + high) // 2
                run(low, middle)
                run(middle, high)

        if images:
            run(0, len(images))
        return scores, refused
