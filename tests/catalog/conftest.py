"""Record factories for the catalog tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from aligngemini.catalog.records import GeneratorRecord, ImageRecord, QuarantineRecord

ImageFactory = Callable[..., ImageRecord]


def _image(i: int, **changes: object) -> ImageRecord:
    """A generated image numbered `i`; `changes` overrides any field."""
    record = ImageRecord(
        sha256=f"{i:064x}",
        path=f"data/generated/{i:04d}.png",
        kind="generated",
        source="tiny-sd",
        parent_sha256=None,
        generator="tiny-sd",
        prompt=f"prompt {i % 3}",
        seed=1000 + i,
        width=64,
        height=64,
        transform=None,
        source_format=None,
        jpeg_quality=None,
        created_at="2025-03-01T10:00:00+00:00",
        flow_run_id="run-1",
    )
    return replace(record, **changes)


@pytest.fixture(scope="session")
def image() -> ImageFactory:
    return _image


@pytest.fixture
def quarantined() -> Callable[..., QuarantineRecord]:
    def make(
        path: str = "data/in/bad.jpg", reason: str = "truncated_or_corrupt", run: str | None = "run-1"
    ) -> QuarantineRecord:
        return QuarantineRecord(path, reason, f"{path}: {reason}", "2025-03-01T10:00:00+00:00", run)

    return make


@pytest.fixture
def generator() -> Callable[..., GeneratorRecord]:
    def make(name: str = "tiny-sd", **changes: object) -> GeneratorRecord:
        record = GeneratorRecord(
            name=name,
            pipeline="auto",
            model=f"models/{name}",
            steps=8,
            guidance=3.0,
            resolution=64,
            seed=1000,
            conditioning="text",
            config_hash="a" * 64,
            registered_at="2025-01-01T00:00:00+00:00",
        )
        return replace(record, **changes)

    return make
