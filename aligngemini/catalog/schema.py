"""The catalog's tables (DuckDB DDL) and the record type each shard-fed table takes.

Every statement is idempotent (`IF NOT EXISTS`), so opening an older catalog creates the
tables that later versions added and leaves existing rows alone.
"""

from __future__ import annotations

from typing import get_args

import duckdb

from aligngemini.catalog.records import (
    BenchmarkRecord,
    BenchmarkScoreRecord,
    DatasetMemberRecord,
    DatasetRecord,
    GeneratorRecord,
    ImageKind,
    ModelDecisionRecord,
    ModelRecord,
    ImageRecord,
    QuarantineRecord,
    TrainingRecord,
)
from aligngemini.errors import AlignGeminiError


class CatalogError(AlignGeminiError):
    """A catalog operation could not be done: unknown table, malformed rows, busy file."""


_IMAGE_KINDS = ", ".join(f"'{kind}'" for kind in get_args(ImageKind))

# Timestamps arrive as ISO-8601 strings in records and shards; the merge stores them as
# UTC TIMESTAMPs so that time comparisons and ordering work in SQL.
DDL: tuple[str, ...] = (
    f"""
    CREATE TABLE IF NOT EXISTS images (
        sha256        VARCHAR PRIMARY KEY,
        path          VARCHAR NOT NULL,
        kind          VARCHAR NOT NULL CHECK (kind IN ({_IMAGE_KINDS})),
        source        VARCHAR,
        parent_sha256 VARCHAR,
        generator     VARCHAR,
        prompt        VARCHAR,
        seed          BIGINT,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        transform     VARCHAR,
        source_format VARCHAR,
        jpeg_quality  INTEGER,
        created_at    TIMESTAMP NOT NULL,
        flow_run_id   VARCHAR
    )
    """,
    # Generation planning asks "which (generator, prompt, seed) exist already?"; lineage
    # walks parent -> children; dataset builders select by kind.
    "CREATE INDEX IF NOT EXISTS images_generation ON images (generator, prompt, seed)",
    "CREATE INDEX IF NOT EXISTS images_parent ON images (parent_sha256)",
    "CREATE INDEX IF NOT EXISTS images_kind ON images (kind)",
    # No key: the same bad file quarantined by another run is another row. The merge skips
    # a row whose (path, reason, flow_run_id) is present, NULL run ids comparing equal,
    # which a UNIQUE constraint would not do.
    """
    CREATE TABLE IF NOT EXISTS quarantine (
        path        VARCHAR NOT NULL,
        reason      VARCHAR NOT NULL,
        detail      VARCHAR NOT NULL,
        created_at  TIMESTAMP NOT NULL,
        flow_run_id VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS generators (
        name          VARCHAR PRIMARY KEY,
        pipeline      VARCHAR NOT NULL,
        model         VARCHAR NOT NULL,
        steps         INTEGER NOT NULL,
        guidance      DOUBLE NOT NULL,
        resolution    INTEGER NOT NULL,
        seed          BIGINT NOT NULL,
        conditioning  VARCHAR NOT NULL,
        config_hash   VARCHAR NOT NULL,
        registered_at TIMESTAMP NOT NULL
    )
    """,
    # A dataset version is its DVC md5; validating the same version again updates its row.
    """
    CREATE TABLE IF NOT EXISTS datasets (
        name               VARCHAR NOT NULL,
        md5                VARCHAR NOT NULL,
        git_rev            VARCHAR,
        params_hash        VARCHAR NOT NULL,
        rows               BIGINT NOT NULL,
        validation_success BOOLEAN NOT NULL,
        validation         VARCHAR NOT NULL,
        created_at         TIMESTAMP NOT NULL,
        flow_run_id        VARCHAR,
        PRIMARY KEY (name, md5)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS dataset_members (
        dataset_md5 VARCHAR NOT NULL,
        dataset     VARCHAR NOT NULL,
        sha256      VARCHAR NOT NULL,
        split       VARCHAR NOT NULL,
        label       VARCHAR NOT NULL,
        generator   VARCHAR,
        PRIMARY KEY (dataset_md5, sha256)
    )
    """,
    # Lineage asks "which datasets used this image?"
    "CREATE INDEX IF NOT EXISTS dataset_members_sha ON dataset_members (sha256)",
    # One row per trained branch checkpoint; retraining to identical weights adds nothing.
    """
    CREATE TABLE IF NOT EXISTS trainings (
        branch            VARCHAR NOT NULL,
        checkpoint_sha256 VARCHAR NOT NULL,
        checkpoint_path   VARCHAR NOT NULL,
        dataset           VARCHAR NOT NULL,
        dataset_md5       VARCHAR NOT NULL,
        params_hash       VARCHAR NOT NULL,
        git_rev           VARCHAR,
        metrics           VARCHAR NOT NULL,
        train_seconds     DOUBLE NOT NULL,
        created_at        TIMESTAMP NOT NULL,
        flow_run_id       VARCHAR,
        PRIMARY KEY (branch, checkpoint_sha256)
    )
    """,
    # One row per registered fused model version: lineage joins it to the datasets (and so
    # to images and generators) and to the branch trainings through their hashes.
    """
    CREATE TABLE IF NOT EXISTS models (
        name                       VARCHAR NOT NULL,
        version                    VARCHAR NOT NULL,
        commit                     VARCHAR NOT NULL,
        artifact_md5               VARCHAR NOT NULL,
        fusion_rule                VARCHAR NOT NULL,
        pixel_checkpoint_sha256    VARCHAR NOT NULL,
        semantic_checkpoint_sha256 VARCHAR NOT NULL,
        pixel_dataset_md5          VARCHAR NOT NULL,
        semantic_dataset_md5       VARCHAR NOT NULL,
        params_hash                VARCHAR NOT NULL,
        params                     VARCHAR NOT NULL,
        generators                 VARCHAR NOT NULL,
        git_rev                    VARCHAR,
        git_dirty                  BOOLEAN,
        metrics                    VARCHAR NOT NULL,
        created_at                 TIMESTAMP NOT NULL,
        flow_run_id                VARCHAR,
        PRIMARY KEY (name, version)
    )
    """,
    # Catalogs made before versions recorded a dirty tree: their rows read NULL.
    "ALTER TABLE models ADD COLUMN IF NOT EXISTS git_dirty BOOLEAN",
    "CREATE INDEX IF NOT EXISTS models_pixel_dataset ON models (pixel_dataset_md5)",
    "CREATE INDEX IF NOT EXISTS models_semantic_dataset ON models (semantic_dataset_md5)",
    # Every gate decision, promotions and refusals alike, with its reason.
    """
    CREATE TABLE IF NOT EXISTS model_decisions (
        name             VARCHAR NOT NULL,
        version          VARCHAR NOT NULL,
        stage            VARCHAR NOT NULL,
        promoted         BOOLEAN NOT NULL,
        reason           VARCHAR NOT NULL,
        baseline_version VARCHAR,
        decided_at       TIMESTAMP NOT NULL,
        flow_run_id      VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS benchmark_scores (
        model_name    VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL,
        condition     VARCHAR NOT NULL,
        sha256        VARCHAR NOT NULL,
        p_fake        DOUBLE NOT NULL,
        p_pixel       DOUBLE NOT NULL,
        p_semantic    DOUBLE NOT NULL,
        scored_at     TIMESTAMP NOT NULL,
        PRIMARY KEY (model_name, model_version, condition, sha256)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS benchmarks (
        run_id                 VARCHAR NOT NULL,
        name                   VARCHAR NOT NULL,
        model_name             VARCHAR NOT NULL,
        model_version          VARCHAR NOT NULL,
        collection_fingerprint VARCHAR NOT NULL,
        collections            VARCHAR NOT NULL,
        conditions             VARCHAR NOT NULL,
        metrics                VARCHAR NOT NULL,
        images                 BIGINT NOT NULL,
        errors                 BIGINT NOT NULL,
        report_dir             VARCHAR NOT NULL,
        created_at             TIMESTAMP NOT NULL,
        PRIMARY KEY (run_id, model_name, model_version)
    )
    """,
    # Derived, not shard-fed: filled by each merge for the dataset versions it has not seen
    # (`db.fill_dataset_generators`), so that lineage need not walk a version's members up
    # to their generated images at every query. Per version and generator: the distinct
    # generated images reaching the version and the members descending from them; the row
    # with a NULL generator counts the members descending from no generated image.
    """
    CREATE TABLE IF NOT EXISTS dataset_generators (
        dataset_md5 VARCHAR NOT NULL,
        dataset     VARCHAR NOT NULL,
        generator   VARCHAR,
        images      BIGINT NOT NULL,
        members     BIGINT NOT NULL
    )
    """,
)

# Tables that parallel tasks may feed through Parquet shards, with the record type whose
# fields are exactly the table's columns.
RECORD_TYPES: dict[str, type] = {
    "images": ImageRecord,
    "quarantine": QuarantineRecord,
    "generators": GeneratorRecord,
    "datasets": DatasetRecord,
    "dataset_members": DatasetMemberRecord,
    "trainings": TrainingRecord,
    "models": ModelRecord,
    "model_decisions": ModelDecisionRecord,
    "benchmark_scores": BenchmarkScoreRecord,
    "benchmarks": BenchmarkRecord,
}


def record_type(table: str) -> type:
    """The record dataclass of a shard-fed table; `CatalogError` for any other name."""
    try:
        return RECORD_TYPES[table]
    except KeyError:
        raise CatalogError(f"unknown catalog table '{table}' (known: {', '.join(RECORD_TYPES)})") from None


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and index that does not exist yet."""
    for statement in DDL:
        con.execute(statement)
