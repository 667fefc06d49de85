"""One benchmark run: score the collections with each model under each condition, compute
the table and the paired differences, write the run's folder and record it in the catalog."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from aligngemini.benchmark.collection import Collection, collection_fingerprint
from aligngemini.benchmark.metrics import differences, table
from aligngemini.benchmark.score import BenchmarkModel, Counts, Scorer
from aligngemini.catalog.db import Catalog
from aligngemini.catalog.records import BenchmarkRecord
from aligngemini.config import ImageLimits
from aligngemini.errors import AlignGeminiError
from aligngemini.evaluation.perturb import PerturbationSpec, conditions
from aligngemini.fusion.detector import FusedDetector
from aligngemini.fusion.model_dir import read_model_info

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
SEMANTIC_THRESHOLD = 0.5  # p_semantic is the VLM's probability of "fake"
FUSED_THRESHOLD = 0.5  # the fused decision's rule (Detection: fake iff p_fake > 0.5)


class BenchmarkError(AlignGeminiError):
    """A benchmark that cannot run as asked: a bad name, no models."""


@dataclass(frozen=True)
class BenchmarkRun:
    summary: dict
    scores: pd.DataFrame
    report: Path
    counts: Counts


def check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise BenchmarkError(f"benchmark name {name!r}: use letters, digits, '.', '_' and '-' (a folder under reports/benchmarks)")
    return name


def thresholds(model: BenchmarkModel) -> dict[str, float]:
    """Each branch's own decision threshold, from the model folder (no weights loaded)."""
    info = read_model_info(model.path)
    return {"fused": FUSED_THRESHOLD, "pixel": info.pixel_inference.threshold, "semantic": SEMANTIC_THRESHOLD}


def _collection_entry(collection: Collection) -> dict:
    members = collection.members
    return {
        "root": collection.root, "layout": collection.layout,
        "real": sum(m.label == "real" for m in members), "fake": sum(m.label == "fake" for m in members),
        "errors": sum(m.error is not None for m in members), "subsets": sorted({m.subset for m in members}),
    }  # fmt: skip


def _errors(scores: pd.DataFrame) -> dict:
    failed = scores[scores["error"].notna()]
    by_subset = failed.groupby(["model", "condition", "subset"]).size()
    return {
        "total": int(len(failed)),
        "by_subset": [{"model": m, "condition": c, "subset": s, "count": int(n)} for (m, c, s), n in by_subset.items()],
        "files": failed[["model", "condition", "subset", "path", "error"]].to_dict("records"),
    }


def run_benchmark(
    name: str,
    collections: Sequence[Collection],
    models: Sequence[BenchmarkModel],
    perturbations: Sequence[PerturbationSpec],
    *,
    out_root: Path,
    catalog: Path,
    limits: ImageLimits,
    load: Callable[[BenchmarkModel], FusedDetector],
    n_bootstrap: int = 200,
    progress: bool = True,
) -> BenchmarkRun:
    """Scores, metrics, differences against the first model, `out_root/name/` and one
    catalog row per model. Nothing is written before every image is scored."""
    from aligngemini.benchmark.report import write_outputs  # matplotlib: only once scores exist

    if not models:
        raise BenchmarkError("no model to benchmark")
    check_name(name)
    grid = conditions(perturbations)
    cuts = {model.tag: thresholds(model) for model in models}
    members = [member for collection in collections for member in collection.members]
    scorer = Scorer(models, grid, catalog, limits, load, progress)
    scores = scorer.score(members)
    scored = scores[scores["error"].isna()]
    part = lambda tag, condition: scored[(scored["model"] == tag) & (scored["condition"] == condition)]  # noqa: E731
    results = {m.tag: {c: table(part(m.tag, c), cuts[m.tag], n_bootstrap) for c, _ in grid} for m in models}
    base = models[0]
    compared = {
        f"{other.tag} - {base.tag}": {c: differences(part(base.tag, c), part(other.tag, c), (cuts[base.tag], cuts[other.tag]), n_bootstrap) for c, _ in grid}
        for other in models[1:]
    }
    now = datetime.now(timezone.utc)
    summary = {
        "name": name, "run_id": f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", "created_at": now.isoformat(),
        "models": [m.tag for m in models], "conditions": [c for c, _ in grid],
        "collections": [_collection_entry(c) for c in collections],
        "fingerprint": collection_fingerprint(scores["sha256"].dropna()), "images": len(members), "bootstrap": n_bootstrap,
        "counts": vars(scorer.counts), "results": results, "differences": compared, "errors": _errors(scores),
    }  # fmt: skip
    out_dir = out_root / name
    report = write_outputs(out_dir, summary, scores)
    _record(catalog, summary, models, out_dir)
    return BenchmarkRun(summary, scores, report, scorer.counts)


def _record(catalog: Path, summary: dict, models: Sequence[BenchmarkModel], out_dir: Path) -> None:
    records = [
        BenchmarkRecord(
            run_id=summary["run_id"], name=summary["name"], model_name=model.name, model_version=model.version,
            collection_fingerprint=summary["fingerprint"], collections=json.dumps(summary["collections"]),
            conditions=json.dumps(summary["conditions"]), metrics=json.dumps(summary["results"][model.tag]),
            images=summary["images"], errors=sum(e["count"] for e in summary["errors"]["by_subset"] if e["model"] == model.tag),
            report_dir=str(out_dir), created_at=summary["created_at"],
        )  # fmt: skip
        for model in models
    ]
    with Catalog(catalog) as db:
        db.insert_records("benchmarks", records)
