"""Scoring a collection with one or more models under each condition, streamed in chunks
and cached in the catalog.

Memory stays flat: a chunk of files is hashed, looked up in the score cache, and only the
images no model has scored under that condition are decoded and scored, then written to
the cache before the next chunk. What is kept is one small row of scores per image. A file
that cannot be hashed (not a regular file, too large) is never cached: the detector's
loader then reports its error."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from aligngemini.benchmark.collection import Member
from aligngemini.catalog.benchmarks import cached_scores
from aligngemini.catalog.db import Catalog
from aligngemini.catalog.records import BenchmarkScoreRecord
from aligngemini.config import ImageLimits
from aligngemini.evaluation.scoring import Condition
from aligngemini.fusion.detector import Detection, FusedDetector

CHUNK = 256
COLUMNS = ["model", "condition", "subset", "label", "path", "sha256", "p_fake", "p_pixel", "p_semantic", "error", "cached"]


@dataclass(frozen=True)
class BenchmarkModel:
    name: str
    version: str
    path: Path

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.version

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass
class Counts:
    """Images scored now, taken from the cache, and failed, over all models and conditions."""

    scored: int = 0
    cached: int = 0
    failed: int = 0


@dataclass
class Scorer:
    """Scores members for `models`; each model's detector is loaded the first time an image
    is not in the cache, so a fully cached benchmark loads no model."""

    models: Sequence[BenchmarkModel]
    conditions: Sequence[Condition]
    catalog: Path
    limits: ImageLimits
    load: Callable[[BenchmarkModel], FusedDetector]
    progress: bool = True
    counts: Counts = field(default_factory=Counts)
    _detectors: dict[tuple[str, str], FusedDetector] = field(default_factory=dict)

    def score(self, members: Sequence[Member]) -> pd.DataFrame:
        """One row per member, model and condition (COLUMNS), in that nesting order."""
        rows: dict[tuple[str, str], list[tuple]] = {(m.tag, c[0]): [] for m in self.models for c in self.conditions}
        total = len(members) * len(rows)
        with tqdm(total=total, unit="image", file=sys.stderr, disable=not self.progress, desc="benchmark") as bar:
            for chunk in _chunks(members, CHUNK):
                hashes = [None if member.error else file_sha256(member.path, self.limits.max_bytes) for member in chunk]
                for model in self.models:
                    for condition in self.conditions:
                        rows[model.tag, condition[0]] += self._score_chunk(model, condition, chunk, hashes)
                        bar.update(len(chunk))
        return pd.DataFrame([row for group in rows.values() for row in group], columns=COLUMNS)

    def _score_chunk(self, model: BenchmarkModel, condition: Condition, chunk: Sequence[Member], hashes: list[str | None]) -> list[tuple]:
        name, transform = condition
        known = cached_scores(self.catalog, model.key, name, sorted({sha for sha in hashes if sha}))
        todo = [i for i, (member, sha) in enumerate(zip(chunk, hashes)) if not member.error and sha not in known]
        detections: dict[int, Detection] = {}
        if todo:
            detector = self._detector(model)
            found = detector.detect_paths([chunk[i].path for i in todo], self.limits, transform)
            detections = dict(zip(todo, found))
            self._cache(model, name, [(hashes[i], detections[i]) for i in todo])
        rows = []
        for i, (member, sha) in enumerate(zip(chunk, hashes)):
            if member.error:
                scores, error, cached = (None, None, None), member.error, False
            elif i in detections:
                found = detections[i]
                scores, error, cached = (found.p_fake, found.p_pixel, found.p_semantic), found.error, False
            else:
                scores, error, cached = known[sha], None, True
            self.counts.failed += error is not None
            self.counts.cached += cached
            self.counts.scored += error is None and not cached
            rows.append((model.tag, name, member.subset, member.label, member.path, sha, *scores, error, cached))
        return rows

    def _detector(self, model: BenchmarkModel) -> FusedDetector:
        if model.key not in self._detectors:
            self._detectors[model.key] = self.load(model)
        return self._detectors[model.key]

    def _cache(self, model: BenchmarkModel, condition: str, scored: list[tuple[str | None, Detection]]) -> None:
        now = datetime.now(timezone.utc).isoformat()
        records = [
            BenchmarkScoreRecord(*model.key, condition, sha, found.p_fake, found.p_pixel, found.p_semantic, now)
            for sha, found in scored
            if sha and found.error is None
        ]
        if records:
            with Catalog(self.catalog) as catalog:
                catalog.insert_records("benchmark_scores", records)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def file_sha256(path: str, max_bytes: int) -> str | None:
    """sha256 of a regular file of at most `max_bytes`; None for anything else (the loader
    names the problem when the file is scored)."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > max_bytes:
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None
