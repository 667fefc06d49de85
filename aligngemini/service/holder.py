"""The model the service scores with, and its replacement when the served stage moves.

`current` is read once per batch, so a batch runs wholly on one model and says which; a swap
is one assignment, made only after the new model has loaded, so requests never wait for a
load and the batches already running finish on the old model."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from aligngemini.errors import AlignGeminiError
from aligngemini.fusion.detector import Detection, FusedDetector
from aligngemini.model_registry import ResolvedModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    model: ResolvedModel
    detector: FusedDetector


class ModelHolder:
    def __init__(self, resolve: Callable[[], ResolvedModel], load: Callable[[ResolvedModel], FusedDetector]):
        self._resolve, self._load = resolve, load
        self._refreshing = threading.Lock()  # one load at a time; scoring never takes it
        self.current: Loaded | None = None
        self.last_error: str | None = None

    def refresh(self) -> bool:
        """Load the version the served stage names now, if it is not the one loaded; True
        when a new model was swapped in. A failure keeps the old model and is remembered."""
        with self._refreshing:
            try:
                model = self._resolve()
                if self.current is not None and self.current.model.version == model.version:
                    return False
                loaded = Loaded(model, self._load(model))
            except Exception as exc:  # a broken download or checkpoint must not stop the service or its polling
                self.last_error = str(exc) if isinstance(exc, AlignGeminiError) else f"{type(exc).__name__}: {exc}"
                log.warning("model not (re)loaded: %s", self.last_error)
                return False
            previous, self.current, self.last_error = self.current, loaded, None
            log.info("serving %s@%s%s", model.name, model.version, f" (was {previous.model.version})" if previous else "")
            return True

    def score(self, names: Sequence[str], images: Sequence[Image.Image]) -> tuple[list[Detection], ResolvedModel]:
        loaded = self.current
        if loaded is None:
            raise RuntimeError("no model is loaded yet")
        return loaded.detector.detect_images(names, images), loaded.model
