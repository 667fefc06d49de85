"""Lineage queries on a catalog of a million images: the median time of each query over
random keys, and the catalog's size on disk.

The synthetic catalog has the pipeline's shape, built with set-based DuckDB SQL (no row
loop): 0.2% photos and 19.8% of their tiles (real), 25% generated images from 10
generators (two more per retrain), 35% reconstructions (of tiles and of generated images),
20% dataset-derived copies (JPEG'd reconstructions, JPEG'd tiles). Each of 5 retrains
records a pixel version (tiles and their reconstructions, growing) and a semantic version
(reconstructions of the generators known so far vs. as many of real tiles), a model on the
two, its two branch trainings and a gate decision. `dataset_generators` is then filled by
the function every merge calls (`fill_dataset_generators`), timed apart.

    python benchmarks/lineage.py [--images 1000000] [--runs 20] [--keep catalog.duckdb]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from aligngemini.catalog.db import fill_dataset_generators
from aligngemini.catalog.lineage import generator_lineage, image_lineage, model_lineage
from aligngemini.catalog.schema import create_schema

GENERATORS = 10
RETRAINS = 5
MODEL = "aligngemini-detector"
# Share of the catalog per kind of image, in the order their id ranges are laid out.
SHARES = {"photo": 0.002, "tile": 0.198, "generated": 0.25, "recon_tile": 0.15, "recon_gen": 0.20, "derived_recon": 0.15, "derived_tile": 0.05}


def _layout(total: int) -> dict[str, tuple[int, int]]:
    """First id and count of each kind; ids are global, an image's sha256 is sha256('img-<id>')."""
    layout, start = {}, 0
    for part, share in SHARES.items():
        count = round(total * share) if part != "derived_tile" else total - start
        layout[part] = (start, count)
        start += count
    return layout


def build_catalog(path: Path, total: int) -> float:
    """Write the synthetic catalog of `total` images to `path` (which must not exist), then
    fill `dataset_generators` as a merge does; returns the seconds that fill took."""
    L = _layout(total)
    (p0, np_), (t0, nt), (g0, ng) = L["photo"], L["tile"], L["generated"]
    (rt0, nrt), (rg0, nrg), (dr0, ndr), (dt0, ndt) = L["recon_tile"], L["recon_gen"], L["derived_recon"], L["derived_tile"]
    per_gen = ng // GENERATORS
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    create_schema(con)
    sha = "sha256('img-' || {})"
    image_columns = "sha256, path, kind, source, parent_sha256, generator, prompt, seed, width, height, transform, source_format, jpeg_quality, created_at, flow_run_id"

    def images(kind: str, first: int, count: int, parent: str | None, generator: str | None, source: str, transform: str | None, day: str) -> None:
        con.execute(
            f"""
            INSERT INTO images ({image_columns})
            SELECT {sha.format('id')}, 'data/store/' || id || '.png', '{kind}', {source},
                   {sha.format(parent) if parent else 'NULL'}, {generator or 'NULL'},
                   {"'prompt ' || (id % 5000)" if kind == 'generated' and parent is None else 'NULL'},
                   {'id' if kind == 'generated' and parent is None else 'NULL'}, 128, 128,
                   {transform or 'NULL'}, NULL, NULL,
                   TIMESTAMP '2025-01-01' + to_days(({day})::INTEGER) + to_microseconds(id), 'run-' || ({day})::INTEGER
            FROM (SELECT range AS id, range - {first} AS j FROM range({first}, {first + count}))
            """
        )

    gen_name = f"'gen-' || lpad(((j // {per_gen}) % {GENERATORS})::VARCHAR, 2, '0')"
    gen_day = f"30 * (1 + (j // {per_gen}) % {GENERATORS} // 2)"
    images("real", p0, np_, None, None, "'coco'", None, "0")
    images("real", t0, nt, f"{p0} + j % {np_}", None, "'coco'", "'tile(x=0,y=0,size=128)'", "1")
    images("generated", g0, ng, None, gen_name, gen_name, None, gen_day)
    images("reconstruction", rt0, nrt, f"{t0} + j", None, "'sd-vae'", "'reconstruct(sd-vae)'", "2")
    # Four of every five generated images are reconstructed, on the generator's day.
    gen_of_recon = f"(j // 4) * 5 + j % 4 + 1"
    images("reconstruction", rg0, nrg, f"{g0} + {gen_of_recon}", None, "'sd-vae'", "'reconstruct(sd-vae,resize=0.5)'", f"30 * (1 + ({gen_of_recon}) // {per_gen} % {GENERATORS} // 2)")
    images("reconstruction", dr0, ndr, f"{rt0} + (j * {nrt + nrg}) // {ndr}", None, "'sd-vae'", "'jpeg(q=80)'", "200")
    images("real", dt0, ndt, f"{t0} + (j * {nrt}) // {ndt}", None, "'coco'", "'jpeg(q=90)'", "200")

    con.execute(
        f"""
        INSERT INTO generators
        SELECT 'gen-' || lpad(g::VARCHAR, 2, '0'), 'auto', 'models/gen-' || g, 8, 3.0, 128, 1000 + g, 'text',
               sha256('cfg-' || g), TIMESTAMP '2025-01-01' + to_days(30 * (1 + g // 2))
        FROM range({GENERATORS}) AS t(g)
        """
    )
    for r in range(1, RETRAINS + 1):
        day, pixel_md5, semantic_md5 = 30 * r + 10, f"md5('pixel-{r}')", f"md5('semantic-{r}')"
        tiles = nrt * r // RETRAINS
        # Members are inserted per version, as the merges do, so each version's rows lie together.
        con.execute(f"CREATE OR REPLACE TEMP TABLE tiles AS SELECT {sha.format(f'{t0} + j')} AS tile FROM range({tiles}) AS t(j)")
        con.execute(
            f"""
            INSERT INTO dataset_members
            SELECT {pixel_md5}, 'pixel', i.sha256, ['train', 'train', 'train', 'val', 'test'][(1 + hash(i.parent_sha256) % 5)::BIGINT],
                   CASE WHEN i.kind = 'reconstruction' THEN 'fake' ELSE 'real' END,
                   CASE WHEN i.kind = 'reconstruction' THEN 'sd-vae' END
            FROM images AS i
            WHERE i.sha256 IN (SELECT tile FROM tiles) OR i.parent_sha256 IN (SELECT tile FROM tiles)
            """
        )
        con.execute(
            f"""
            INSERT INTO dataset_members
            WITH fakes AS (
                SELECT r.sha256, g.generator FROM images AS r JOIN images AS g ON g.sha256 = r.parent_sha256
                WHERE g.kind = 'generated' AND g.generator < 'gen-' || lpad('{2 * r}', 2, '0')
            ), reals AS (
                SELECT {sha.format('id')} AS sha256 FROM range({rt0}, {rt0} + least({nrt}, {nrg * 2 * r // GENERATORS})) AS t(id)
            ), picked AS (
                SELECT sha256, 'fake' AS label, generator FROM fakes
                UNION ALL SELECT sha256, 'real', NULL FROM reals
            )
            SELECT {semantic_md5}, 'semantic', coalesce(d.sha256, p.sha256),
                   ['train', 'train', 'train', 'val', 'test'][(1 + hash(p.sha256) % 5)::BIGINT], p.label, p.generator
            FROM picked AS p LEFT JOIN images AS d ON d.parent_sha256 = p.sha256 AND d.transform LIKE 'jpeg%'
            """
        )
        con.execute(
            f"""
            INSERT INTO datasets
            SELECT dataset, dataset_md5, 'rev{r}', sha256('params-{r}'), count(*), true, '{{}}',
                   TIMESTAMP '2025-01-01' + to_days({day}), 'run-{r}'
            FROM dataset_members WHERE dataset_md5 IN ({pixel_md5}, {semantic_md5}) GROUP BY ALL
            """
        )
        for branch, md5 in (("pixel", pixel_md5), ("semantic", semantic_md5)):
            con.execute(
                f"""
                INSERT INTO trainings VALUES ('{branch}', sha256('ckpt-{branch}-{r}'), 'models/{branch}', '{branch}', {md5},
                    sha256('params-{r}'), 'rev{r}', '{{"val_accuracy": 0.9}}', {600.0 * r}, TIMESTAMP '2025-01-01' + to_days({day + 1}), 'run-{r}')
                """
            )
        generators = ", ".join(f'"gen-{g:02d}"' for g in range(2 * r))
        con.execute(
            f"""
            INSERT INTO models VALUES ('{MODEL}', 'v0.0.{r}', sha1('commit-{r}'), md5('model-{r}'), 'or',
                sha256('ckpt-pixel-{r}'), sha256('ckpt-semantic-{r}'), {pixel_md5}, {semantic_md5}, sha256('params-{r}'),
                '{{"fusion": {{"rule": "or"}}}}', '[{generators}]', 'rev{r}', false, '{{"balanced_accuracy": {0.8 + r / 100}}}',
                TIMESTAMP '2025-01-01' + to_days({day + 2}), 'run-{r}')
            """
        )
        promoted = r != 3
        con.execute(
            f"""
            INSERT INTO model_decisions VALUES ('{MODEL}', 'v0.0.{r}', 'prod', {promoted},
                '{'beats' if promoted else 'does not beat'} production', {f"'v0.0.{r - 1}'" if r > 1 else 'NULL'},
                TIMESTAMP '2025-01-01' + to_days({day + 3}), 'run-{r}')
            """
        )
    start = time.perf_counter()
    con.begin()
    fill_dataset_generators(con)
    con.commit()
    fill_s = time.perf_counter() - start
    con.execute("CHECKPOINT")
    con.close()
    return fill_s


def _median_ms(query: Callable[[str], object], keys: list[str]) -> float:
    times = []
    for key in keys:
        start = time.perf_counter()
        query(key)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the catalog here and keep it (default: a temporary file)")
    args = parser.parse_args()
    duckdb.connect().close()  # a process's first connection pays a one-time setup: not timed

    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as scratch:
        db = args.keep or Path(scratch) / "catalog.duckdb"
        if not db.exists():
            start = time.perf_counter()
            fill_s = build_catalog(db, args.images)
            print(f"built a catalog of {args.images:,} images in {time.perf_counter() - start:.1f} s"
                  f" (of which {fill_s:.1f} s filling dataset_generators)")  # fmt: skip
        tables = ("images", "dataset_members", "datasets", "models", "dataset_generators")
        with duckdb.connect(str(db), read_only=True) as con:
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
            # Not USING SAMPLE: its seeded reservoir draws nearly all from the first row groups (tiles).
            shas = [s for (s,) in con.execute(f"SELECT sha256 FROM images ORDER BY hash(sha256, 7) LIMIT {args.runs}").fetchall()]
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        print(f"catalog size on disk: {db.stat().st_size / 2**20:.1f} MiB")

        rng = random.Random(7)
        versions = [f"{MODEL}@v0.0.{rng.randint(1, RETRAINS)}" for _ in range(args.runs)]
        generators = [f"gen-{rng.randrange(GENERATORS):02d}" for _ in range(args.runs)]
        for label, query, keys in (
            ("model_lineage", lambda key: model_lineage(db, key), versions),
            ("image_lineage", lambda key: image_lineage(db, key), shas),
            ("image_lineage (12-digit prefix)", lambda key: image_lineage(db, key), [sha[:12] for sha in shas]),
            ("generator_lineage", lambda key: generator_lineage(db, key), generators),
        ):
            print(f"{label:<32} median {_median_ms(query, keys):7.1f} ms over {len(keys)} random keys")


if __name__ == "__main__":
    main()
