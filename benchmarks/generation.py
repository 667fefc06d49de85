"""Throughput of the `generate` flow vs. direct calls of the same diffusers pipelines on the
same (prompt, seed) list, and the flow's overhead counted from the flow's start (the one-time
Prefect server start-up is printed separately). Needs the embedded models: run `make run` first.

    python benchmarks/generation.py [--params params.yaml] [--images 64] [--generators tiny-sd,tiny-pixart]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))

import torch  # noqa: E402
import yaml  # noqa: E402
from prefect import flow  # noqa: E402

from aligngemini.catalog.db import generated_records  # noqa: E402
from aligngemini.generation.jobs import batch_jobs, plan_jobs  # noqa: E402
from aligngemini.generation.pipelines import clear_pipeline_cache, load_pipeline, run_pipeline  # noqa: E402
from aligngemini.generation.prompts import load_prompts  # noqa: E402
from aligngemini.images.store import encode_png, sha256_bytes  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from flows.generate import run_generate  # noqa: E402

PER_PROMPT = 2


@flow(name="server-warmup")
def _warmup() -> None:
    """Starts the temporary Prefect server; timed apart from the flow under test."""


def _bench_project(source: Project, names: list[str], images: int, dest: Path) -> Path:
    n_prompts, rest = divmod(images, PER_PROMPT * len(names))
    if rest or not n_prompts:
        raise SystemExit(f"--images must be a multiple of {PER_PROMPT * len(names)} for {len(names)} generators")
    bank = load_prompts(source.path(source.params.generation.prompts_file))
    prompts = [f"{bank[i % len(bank)]}, variation {i}" for i in range(n_prompts)]
    (dest / "data").mkdir(parents=True)
    (dest / "data" / "prompts.txt").write_text("\n".join(prompts) + "\n")
    (dest / "models").symlink_to(source.root / "models")
    raw = source.params.model_dump(mode="json")
    raw["generators"] = [g for g in raw["generators"] if g["name"] in names]
    raw["datasets"]["heldout_generators"] = [g for g in raw["datasets"]["heldout_generators"] if g in names]
    params = dest / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--generators", default="tiny-sd,tiny-pixart")
    args = parser.parse_args()
    source = Project.load(args.params)
    names = args.generators.split(",")
    missing = [g.model for g in source.params.generators if g.name in names and not source.path(g.model).is_dir()]
    if missing:
        raise SystemExit(f"models not built yet ({', '.join(missing)}): run `make run` first")

    with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp:
        project = Project.load(_bench_project(source, names, args.images, Path(tmp)))
        gen = project.params.generation
        torch.set_num_threads(gen.threads)
        jobs = plan_jobs(project.params.generators, load_prompts(project.path(gen.prompts_file)), gen.images_per_prompt)

        clear_pipeline_cache()
        start = time.perf_counter()
        direct = []
        for batch in batch_jobs(jobs, gen.batch_size):
            entry = project.params.generator(batch[0].generator)
            pipe = load_pipeline(entry, project.root, project.params.generation.device)
            direct += run_pipeline(pipe, entry, [j.prompt for j in batch], [j.seed for j in batch], gen.batch_size)
        direct_s = time.perf_counter() - start

        start = time.perf_counter()
        _warmup()
        server_s = time.perf_counter() - start

        clear_pipeline_cache()
        start = time.perf_counter()
        summary = run_generate(str(project.root / "params.yaml"))
        flow_s = time.perf_counter() - start

        made = {r["sha256"] for r in generated_records(project.catalog, names)}
        same = made == {sha256_bytes(encode_png(im)) for im in direct}

    n = len(jobs)
    print(f"images                         {n} ({', '.join(names)}; batch {gen.batch_size}; {gen.threads} torch threads)")
    print(f"direct pipeline calls          {direct_s:7.2f} s  {n / direct_s:6.2f} images/s (includes from_pretrained)")
    print(f"generate flow                  {flow_s:7.2f} s  {n / flow_s:6.2f} images/s (from the flow's start; generated {summary['generated']})")
    print(f"flow overhead                  {100 * (flow_s / direct_s - 1):6.1f} %  (target <= 15 %)")
    print(f"prefect server start-up (once) {server_s:7.2f} s")
    print(f"flow images identical to direct calls: {same}")


if __name__ == "__main__":
    main()
