"""Row types of the catalog. Library code builds these; tasks write them to Parquet shards;
one merge task inserts the shards into DuckDB."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

ImageKind = Literal["real", "generated", "reconstruction"]


@dataclass(frozen=True)
class ImageRecord:
    sha256: str
    path: str  # posix path relative to the project root, inside paths.data_root
    kind: ImageKind
    source: str | None  # real-image source name, or the generator name
    parent_sha256: str | None  # the photo a tile was cut from, the real image a reconstruction came from
    generator: str | None
    prompt: str | None
    seed: int | None
    width: int
    height: int
    transform: str | None  # e.g. "tile(x=0,y=128,size=128)"; None for an untouched original
    source_format: str | None  # container format of the original file (JPEG, PNG, ...), None if generated
    jpeg_quality: int | None  # estimated quality of a JPEG original, else None
    created_at: str  # ISO-8601 UTC
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class QuarantineRecord:
    path: str
    reason: str  # the FileProblem.reason tag, e.g. "truncated_or_corrupt"
    detail: str  # human-readable message naming the problem
    created_at: str
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GeneratorRecord:
    name: str
    pipeline: str
    model: str
    steps: int
    guidance: float
    resolution: int
    seed: int
    conditioning: str  # "text", "class" or "none"
    config_hash: str  # sha256 of the entry's JSON; a changed entry is a new configuration
    registered_at: str

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DatasetRecord:
    name: str  # "pixel" or "semantic"
    md5: str  # DVC md5 of the dataset's folder: the dataset version
    git_rev: str | None  # commit of the code and params that built it, None outside git
    params_hash: str  # sha256 of the params sections the dataset depends on
    rows: int
    validation_success: bool
    validation: str  # JSON summary of the Great Expectations run (failures, statistics)
    created_at: str
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DatasetMemberRecord:
    dataset_md5: str
    dataset: str
    sha256: str
    split: str
    label: str
    generator: str | None  # the manifest's: a fake's generator or reconstructor (lineage counts by it)

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainingRecord:
    branch: str  # "pixel" or "semantic"
    checkpoint_sha256: str  # sha256 over the checkpoint folder's files: the trained weights' identity
    checkpoint_path: str  # posix path of the checkpoint folder, relative to the project root
    dataset: str  # the only dataset the branch was trained on
    dataset_md5: str  # its version (DVC md5), recorded and validated by the validate stage
    params_hash: str
    git_rev: str | None
    metrics: str  # JSON: final validation metrics
    train_seconds: float
    created_at: str
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelRecord:
    """A registered fused model version."""

    name: str  # the artifact's name in dvc.yaml's `artifacts:`
    version: str  # semantic version, e.g. "v0.0.2"; the GTO tag is `name@version`
    commit: str  # the git commit the version tag points at (its dvc.lock pins the artifact)
    artifact_md5: str  # DVC md5 of the fused model folder
    fusion_rule: str
    pixel_checkpoint_sha256: str
    semantic_checkpoint_sha256: str
    pixel_dataset_md5: str
    semantic_dataset_md5: str
    params_hash: str
    params: str  # JSON: the params sections the model depends on (datasets, branches, fusion)
    generators: str  # JSON list: the generators whose images the two datasets hold
    git_rev: str | None  # HEAD when the model was registered (the version commit's parent)
    git_dirty: bool | None  # tracked files differed from HEAD; the version commit holds them as they were (None: recorded before this was)
    metrics: str  # JSON: the evaluation's metrics (see aligngemini.evaluation)
    created_at: str
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelDecisionRecord:
    """One decision of the promotion gate (or a manual promotion), kept as an audit log."""

    name: str
    version: str
    stage: str  # the stage asked for, e.g. "prod"
    promoted: bool
    reason: str  # why: the compared figures, or what was missing
    baseline_version: str | None  # the stage's version the candidate was compared with
    decided_at: str
    flow_run_id: str | None

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchmarkScoreRecord:
    """A model's scores of one image under one condition: the benchmark's cache."""

    model_name: str
    model_version: str
    condition: str  # "clean" or a perturbation's condition name, e.g. "jpeg_q75"
    sha256: str  # of the file's bytes
    p_fake: float
    p_pixel: float
    p_semantic: float
    scored_at: str

    def to_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchmarkRecord:
    """One model's results in one benchmark run."""

    run_id: str
    name: str
    model_name: str
    model_version: str
    collection_fingerprint: str  # sha256 of the sorted distinct member hashes
    collections: str  # JSON: each given path, its layout and its member counts
    conditions: str  # JSON list: "clean" and the perturbations' condition names
    metrics: str  # JSON: condition -> subset -> branch -> metrics
    images: int
    errors: int
    report_dir: str
    created_at: str

    def to_row(self) -> dict:
        return asdict(self)


# Deterministic columns: what goes into DVC-tracked manifests (no timestamps, no run ids),
# so two runs from scratch produce byte-identical manifests.
MANIFEST_COLUMNS = [f.name for f in fields(ImageRecord) if f.name not in ("created_at", "flow_run_id")]
