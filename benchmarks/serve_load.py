"""`aligngemini serve` under load: throughput, latency and memory of POST /v1/detect against
the library's own batch throughput on the same images.

1. Library (first, so the two do not compete for the cores): in-process
   `FusedDetector.load` of the model the `prod` stage names, the images decoded as the
   service decodes uploads (`decode_image`), then `detect_images` over batches of
   `service.max_batch` images (the largest batch the service's micro-batcher forms) until
   as many images as the load test sends are scored; best of 2 after a warm-up.
2. Service: `aligngemini serve --model prod` as a subprocess on 127.0.0.1 (no token:
   ALIGNGEMINI_TOKEN is removed from its environment), ready once /readyz answers 200.
   `--clients` concurrent clients (tasks sharing one `httpx.AsyncClient` pool) send `--requests` requests of one image
   each, back to back. A request counts as an error if its status is not 200, it fails
   at the transport, or its result carries an error. The server's RSS is read after one
   request, after a warm-up round of the same load (`--warmup` requests per client: every
   batch size and the decode threads' allocator pools then exist) and after the load; the
   growth is judged from the warm-up round on.

Torch's thread count is left at its default on both sides, as `serve` leaves it.
Images: the first `--images` PNGs with both sides >= 64 px of the project's data/real
(paths.data_root), sorted by path, cycled through. Targets: 0 errors, service throughput
>= 0.7x the library's, RSS growth < 10 %.

Run it in the project's folder (the model registry is its git repository):

    python benchmarks/serve_load.py [--params params.yaml] [--clients 16] [--requests 50] [--port 0] [--images 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from aligngemini.fusion.detector import FusedDetector  # noqa: E402
from aligngemini.images.loader import decode_image  # noqa: E402
from aligngemini.model_registry import resolve_model  # noqa: E402
from aligngemini.project import Project  # noqa: E402
from detect import pick_images  # noqa: E402  (benchmarks/detect.py: this folder is on sys.path when a script here runs)

try:
    import psutil
except ImportError:  # /proc is enough on Linux
    psutil = None

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0  # a queue of 16 clients behind slow batches can take a while; a timeout is an error, not a hang
TARGET_RATIO, TARGET_GROWTH = 0.7, 10.0


def rss_bytes(pid: int) -> int:
    if psutil is not None:
        return psutil.Process(pid).memory_info().rss
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    # Racy in principle (another process could take it before uvicorn binds), fine on loopback.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def library_throughput(project: Project, names: list[str], blobs: list[bytes], total: int) -> tuple[float, list[float]]:
    """Best images/s of `detect_images` over `total` images in batches of service.max_batch."""
    detector = FusedDetector.load(resolve_model(project, "prod").path, project.root)
    images = [decode_image(data, name, project.params.images).image for name, data in zip(names, blobs)]
    size = project.params.service.max_batch
    batches = [[(start + k) % len(images) for k in range(min(size, total - start))] for start in range(0, total, size)]

    def run() -> float:
        began = time.perf_counter()
        for batch in batches:
            detections = detector.detect_images([names[i] for i in batch], [images[i] for i in batch])
            failed = [d.error for d in detections if d.error]
            if failed:
                raise SystemExit(f"library: {len(failed)} images failed, e.g. {failed[0]}")
        return time.perf_counter() - began

    run()  # warm-up: lazy inits and the allocator's first batches
    times = [run() for _ in range(2)]
    return total / min(times), [total / t for t in times]


def start_server(params: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "ALIGNGEMINI_TOKEN"}
    # The console script next to this interpreter, so the server runs the same install as the library side.
    beside = Path(sys.executable).parent / "aligngemini"
    command = str(beside) if beside.exists() else shutil.which("aligngemini")
    if command is None:
        raise SystemExit("no `aligngemini` command next to this Python or on PATH")
    with open(log, "wb") as out:
        return subprocess.Popen(
            [command, "serve", "--params", str(params), "--model", "prod", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def wait_ready(server: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=base, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"server exited with {server.returncode} before it was ready:\n{log.read_text()[-3000:]}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.25)
    raise SystemExit(f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> int:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # uvicorn's clean shutdown: the lifespan stops the batcher
        try:
            server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return server.returncode


def failure(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    errors = [r["error"] for r in response.json().get("results", []) if r.get("error")]
    return errors[0] if errors else None


def run_load(base: str, names: list[str], blobs: list[bytes], clients: int, requests: int) -> tuple[float, list[float], list[str]]:
    """(wall seconds, per-request latencies in s, error messages) of the whole load. The
    clients are tasks on one event loop: the load generator shares the machine's cores with
    the server, and threads would spend more of them on the GIL."""
    return asyncio.run(_load(base, names, blobs, clients, requests))


async def _load(base: str, names: list[str], blobs: list[bytes], clients: int, requests: int) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []

    async def client(http: httpx.AsyncClient, index: int) -> None:
        for request in range(requests):
            # Interleaved so that the requests in flight at once carry different images.
            image = (index + request * clients) % len(blobs)
            began = time.perf_counter()
            try:
                problem = failure(await http.post("/v1/detect", files=[("files", (names[image], blobs[image], "image/png"))]))
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            latencies.append(time.perf_counter() - began)
            if problem:
                errors.append(problem)

    pool = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S, limits=pool) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http, index) for index in range(clients)))
        return time.perf_counter() - began, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="a project with a registered prod model")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=50, help="requests (of one image) per client")
    parser.add_argument("--port", type=int, default=0, help="server port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--images", type=int, default=64, help="distinct images to cycle through")
    parser.add_argument("--warmup", type=int, default=50, help="requests per client of the warm-up round (as many as the load: the caches of every batch shape fill)")
    args = parser.parse_args()
    project = Project.load(args.params)
    service = project.params.service
    paths = pick_images(project.data_root / "real", args.images)
    names = [path.name for path in paths]
    blobs = [path.read_bytes() for path in paths]
    total = args.clients * args.requests

    library, library_runs = library_throughput(project, names, blobs, total)
    print(f"{len(paths)} distinct images from {project.data_root / 'real'}, model prod ({resolve_model(project, 'prod').version})")
    print(f"service config: max_batch {service.max_batch}, max_wait_ms {service.max_wait_ms:g}; torch threads left at default, {os.cpu_count()} CPUs")
    print(f"library detect_images, batches of {service.max_batch}: {library:7.1f} images/s over {total} images (best of 2: {' '.join(f'{r:.1f}' for r in library_runs)})")

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        log = Path(scratch) / "server.log"
        server = start_server(args.params, port, log)
        try:
            wait_ready(server, base, log)
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as http:
                warm = failure(http.post("/v1/detect", files=[("files", (names[0], blobs[0], "image/png"))]))
            if warm:
                raise SystemExit(f"warm-up request failed: {warm}")
            rss_first = rss_bytes(server.pid)
            # A short round of the same load first: batches of every size and the decode
            # threads' allocator pools then exist, so the growth below is what the load keeps.
            _, _, warm_errors = run_load(base, names, blobs, args.clients, args.warmup)
            if warm_errors:
                raise SystemExit(f"warm-up round failed: {warm_errors[0]}")
            rss_before = rss_bytes(server.pid)
            wall, latencies, errors = run_load(base, names, blobs, args.clients, args.requests)
            rss_after = rss_bytes(server.pid)
        finally:
            code = stop_server(server)
        server_log = log.read_text()

    throughput = len(latencies) / wall
    ratio = throughput / library
    growth = 100 * (rss_after / rss_before - 1)
    p50, p95, p99 = (1000 * v for v in np.percentile(latencies, [50, 95, 99]))
    print(f"service: {args.clients} clients x {args.requests} requests = {len(latencies)} requests of 1 image in {wall:.1f} s")
    print(f"throughput {throughput:7.1f} images/s: {ratio:.2f}x the library (target >= {TARGET_RATIO}x) {'ok' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms")
    print(f"errors {len(errors)} (target 0) {'ok' if not errors else 'MISSED: ' + errors[0]}")
    print(
        f"server RSS {rss_first / 2**20:.0f} MiB after one request, {rss_before / 2**20:.0f} MiB after the warm-up round, {rss_after / 2**20:.0f} MiB after the load: "
        f"{growth:+.1f} % (target < {TARGET_GROWTH:g} %) {'ok' if growth < TARGET_GROWTH else 'MISSED'}"
    )  # fmt: skip
    print(f"server stopped with exit code {code}")
    if code not in (0, -signal.SIGINT):
        print(server_log[-3000:])


if __name__ == "__main__":
    main()
