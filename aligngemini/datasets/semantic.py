"""The semantic dataset: real vs. generated images whose pixel traces are equalised, so that
only semantics separate them.

Rules:
- samples are reconstructions of resized images (transform `resize(N)+vae(<name>)`, see
  `align.reconstruction_transform`): the real side reconstructs real images, the fake side
  generated images, so both carry the same decoder traces and the same resize filter (the
  reconstruct stage makes them all at `reconstruction.semantic_size`);
- each kept sample, real or fake, draws from its own seeded stream whether it is
  JPEG-compressed (probability `jpeg_probability`) and at which quality
  (q ~ U{jpeg_quality}, both ends included): one treatment distribution for both sides;
- balance, within each of train, val and test: every non-held-out generator contributes the
  same number k of fakes and the reals number k times the generators, with k the largest
  value that the split's fakes of each generator and its reals allow (k = min(fewest fakes
  of a generator, reals // generators)). Which samples are kept is a seeded order of their
  sha256, independent of input order. A non-held-out generator without fakes in a split
  therefore leaves that split empty: balance per generator comes first;
- the fakes of held-out generators all go to `heldout`, every one kept, with no reals: the
  leave-one-generator-out test pairs them with the reals of `test`, which got the same
  treatment distribution;
- fakes name their generator, reals none; `pair_id` is null (samples are not paired).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from aligngemini.config import DatasetsConfig, SemanticDatasetConfig
from aligngemini.datasets.align import Step, apply_steps, jpeg, parse_reconstruction_transform, sample_rng, seeded_key
from aligngemini.datasets.build import DATASET_BUILDERS, DatasetAssembly, DatasetBuild, DatasetInputs, Loader
from aligngemini.datasets.splits import ASSIGNED_SPLITS, HELDOUT, group_of, index_rows, split_of
from aligngemini.images.store import ImageStore

DATASET = "semantic"


@dataclass(frozen=True)
class Candidate:
    """A reconstruction that may become a sample, with what the manifest says of it."""

    row: Mapping
    label: str
    generator: str | None
    group: str
    split: str


def build_semantic_dataset(
    real_rows: Iterable[Mapping],
    generated_rows: Iterable[Mapping],
    recon_rows: Iterable[Mapping],
    splits: Mapping[str, str],
    heldout_generators: Collection[str],
    config: SemanticDatasetConfig,
    seed: int,
    store: ImageStore,
    load: Loader,
    *,
    created_at: str,
    flow_run_id: str | None = None,
) -> DatasetBuild:
    """The semantic dataset of the resized reconstructions in `recon_rows` of the images in
    `real_rows` and `generated_rows` (rules in the module docstring); derived images go to
    `store`."""
    heldout_generators = frozenset(heldout_generators)
    candidates = semantic_candidates(recon_rows, index_rows(real_rows, generated_rows), splits, heldout_generators)
    assembly = DatasetAssembly(DATASET, store, created_at, flow_run_id)
    for sample in sorted(balanced(candidates, heldout_generators, seed), key=lambda sample: sample.row["sha256"]):
        steps = treatment_steps(sample.row["sha256"], config, seed)
        derived = apply_steps(load(sample.row), steps) if steps else None
        assembly.add(
            sample.row, derived, label=sample.label, split=sample.split, group=sample.group,
            generator=sample.generator, pair_id=None,
        )  # fmt: skip
    return assembly.result()


def semantic_candidates(
    recon_rows: Iterable[Mapping],
    sources: Mapping[str, Mapping],
    splits: Mapping[str, str],
    heldout_generators: Collection[str],
) -> list[Candidate]:
    """Every resized reconstruction of a real or generated image in `sources` (by sha256)."""
    candidates = []
    for recon in index_rows(recon_rows).values():
        parsed = parse_reconstruction_transform(recon["transform"])
        parent = sources.get(recon["parent_sha256"])
        if parsed is None or parsed[1] is None or parent is None:
            continue
        fake = parent["kind"] == "generated"
        group = group_of(recon, sources, heldout_generators)
        label, generator = ("fake", parent["generator"]) if fake else ("real", None)
        candidates.append(Candidate(recon, label, generator, group, split_of(group, splits)))
    return candidates


def balanced(candidates: Sequence[Candidate], heldout_generators: Collection[str], seed: int) -> list[Candidate]:
    """The candidates kept under the balance rules of the module docstring."""
    generators = sorted({c.generator for c in candidates if c.label == "fake"} - set(heldout_generators))
    kept = [c for c in candidates if c.split == HELDOUT]
    for split in ASSIGNED_SPLITS:
        members = [c for c in candidates if c.split == split]
        reals = [c for c in members if c.label == "real"]
        fakes = {name: [c for c in members if c.label == "fake" and c.generator == name] for name in generators}
        per_generator = min(len(reals) // len(generators), *map(len, fakes.values())) if generators else 0
        kept += _first(reals, per_generator * len(generators), seed)
        for name in generators:
            kept += _first(fakes[name], per_generator, seed)
    return kept


def treatment_steps(sha256: str, config: SemanticDatasetConfig, seed: int) -> list[Step]:
    """The JPEG treatment of one sample, drawn from its own random stream."""
    rng = sample_rng(seed, DATASET, sha256)
    if rng.random() < config.jpeg_probability:
        return [partial(jpeg, quality=rng.randint(*config.jpeg_quality))]
    return []


def _first(candidates: Sequence[Candidate], count: int, seed: int) -> list[Candidate]:
    """`count` candidates, first in the seeded order of their sha256."""
    ordered = sorted(candidates, key=lambda c: seeded_key(seed, DATASET, "keep", c.row["sha256"]))
    return ordered[:count]


@DATASET_BUILDERS.register(DATASET)
def build_registered(
    inputs: DatasetInputs,
    config: DatasetsConfig,
    store: ImageStore,
    load: Loader,
    *,
    created_at: str,
    flow_run_id: str | None,
) -> DatasetBuild:
    return build_semantic_dataset(
        inputs.real_rows, inputs.generated_rows, inputs.recon_rows, inputs.splits, config.heldout_generators,
        config.semantic, config.seed, store, load, created_at=created_at, flow_run_id=flow_run_id,
    )  # fmt: skip
