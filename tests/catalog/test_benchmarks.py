import duckdb

from aligngemini.catalog.benchmarks import benchmark_runs, cached_scores
from aligngemini.catalog.db import Catalog
from aligngemini.catalog.lineage import model_lineage
from aligngemini.catalog.records import BenchmarkScoreRecord
from tests.catalog.test_lineage import MODEL, build_lineage_catalog

NOW = "2026-12-03T10:00:00+00:00"


def test_cached_scores_are_found_per_model_condition_and_image(tmp_path):
    db = tmp_path / "catalog.duckdb"
    with Catalog(db) as catalog:
        catalog.insert_records("benchmark_scores", [
            BenchmarkScoreRecord(MODEL, "v0.0.1", "clean", "a" * 64, 0.9, 0.8, 0.7, NOW),
            BenchmarkScoreRecord(MODEL, "v0.0.1", "jpeg_q75", "a" * 64, 0.6, 0.5, 0.4, NOW),
            BenchmarkScoreRecord(MODEL, "v0.0.2", "clean", "b" * 64, 0.1, 0.2, 0.3, NOW),
        ])  # fmt: skip
        again = catalog.insert_records("benchmark_scores", [BenchmarkScoreRecord(MODEL, "v0.0.1", "clean", "a" * 64, 0.0, 0.0, 0.0, NOW)])
    assert again == 0  # the first score of an image stays
    assert cached_scores(db, (MODEL, "v0.0.1"), "clean", ["a" * 64, "b" * 64]) == {"a" * 64: (0.9, 0.8, 0.7)}
    assert cached_scores(db, (MODEL, "v0.0.1"), "jpeg_q75", ["a" * 64]) == {"a" * 64: (0.6, 0.5, 0.4)}


def test_a_catalog_from_before_the_benchmark_tables_reads_as_having_none(tmp_path):
    db = build_lineage_catalog(tmp_path / "catalog.duckdb")
    with duckdb.connect(str(db)) as con:  # as a catalog written before the tables existed
        con.execute("DROP TABLE benchmark_scores")
        con.execute("DROP TABLE benchmarks")
    assert cached_scores(db, (MODEL, "v0.0.1"), "clean", ["a" * 64]) == {}
    assert benchmark_runs(db) == []
    assert model_lineage(db, "v0.0.1")["benchmarks"] == []
