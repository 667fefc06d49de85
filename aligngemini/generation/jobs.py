"""Planning generation: the full (generator x prompt x replicate) job list, what is missing,
and fixed-size batches."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aligngemini.config import GeneratorEntry

JobKey = tuple[str, str, int]  # (generator, prompt, seed): the identity of a generated image


@dataclass(frozen=True)
class GenerationJob:
    generator: str
    prompt: str
    seed: int

    @property
    def key(self) -> JobKey:
        return (self.generator, self.prompt, self.seed)


def derive_seed(base_seed: int, prompt: str, replicate: int) -> int:
    """A seed per (prompt, replicate), stable across runs, machines and prompt-bank order,
    so adding a prompt never changes the seeds (and images) of the others. Unconditional
    pipelines ignore the prompt, so distinct seeds keep their images distinct too."""
    digest = hashlib.sha256(f"{base_seed}\0{prompt}\0{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def plan_jobs(entries: Iterable[GeneratorEntry], prompts: Sequence[str], images_per_prompt: int) -> list[GenerationJob]:
    return [
        GenerationJob(entry.name, prompt, derive_seed(entry.seed, prompt, replicate))
        for entry in entries
        for prompt in prompts
        for replicate in range(images_per_prompt)
    ]


def missing_jobs(jobs: Iterable[GenerationJob], existing: set[JobKey]) -> list[GenerationJob]:
    return [job for job in jobs if job.key not in existing]


def batch_jobs(jobs: Sequence[GenerationJob], batch_size: int) -> list[list[GenerationJob]]:
    """Consecutive chunks that never mix generators (one pipeline call per batch)."""
    batches: list[list[GenerationJob]] = []
    for job in jobs:
        if batches and batches[-1][0].generator == job.generator and len(batches[-1]) < batch_size:
            batches[-1].append(job)
        else:
            batches.append([job])
    return batches
