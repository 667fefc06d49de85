from collections import Counter

from aligngemini.catalog.db import catalog_stats, records_for_source_kind
from aligngemini.manifest import read_manifest
from aligngemini.project import Project
from flows.ingest import ingest


def test_hostile_folder_is_ingested_with_bad_files_quarantined(prefect_server, hostile_folder, new_project):
    params = new_project()
    summary = ingest(params_path=str(params), folder=str(hostile_folder.root))
    project = Project.load(params)

    assert summary["quarantined"] == len(hostile_folder.refused)
    stats = catalog_stats(project.catalog)
    assert stats["quarantine_by_reason"] == dict(Counter(hostile_folder.refused.values()))

    rows = records_for_source_kind(project.catalog, "real")
    photos = [r for r in rows if r["parent_sha256"] is None]
    tiles = [r for r in rows if r["parent_sha256"] is not None]
    assert len(photos) == len(hostile_folder.accepted)
    assert tiles and {t["parent_sha256"] for t in tiles} <= {p["sha256"] for p in photos}
    assert all(t["width"] == t["height"] == project.params.ingest.tile_size for t in tiles)
    assert sorted(r["sha256"] for r in read_manifest(project.manifest("real"))) == sorted(r["sha256"] for r in rows)

    again = ingest(params_path=str(params), folder=str(hostile_folder.root))
    assert len(records_for_source_kind(project.catalog, "real")) == len(rows), "re-ingesting duplicated images"
    assert again["manifest_rows"] == len(rows)
