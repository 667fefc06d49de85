"""The service's routes (FastAPI): POST /v1/detect, GET /v1/models, /healthz, /readyz, and
the page at /. Uploads are decoded with the project's defensive loader from their bytes; no
route opens a path a client names. Every error is JSON {"error": ...} naming the file and
the problem, with a 4xx status (503 while the model loads)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from aligngemini.config import ImageLimits
from aligngemini.errors import FileProblem
from aligngemini.images.loader import decode_image
from aligngemini.service.batcher import MicroBatcher
from aligngemini.service.config import ServiceConfig
from aligngemini.service.holder import ModelHolder

RESULT_KEYS = ("file", "label", "p_fake", "p_semantic", "p_pixel", "model_version", "error")
PART_OVERHEAD = 64 * 1024  # multipart headers and boundaries of one file, generously


class Refused(Exception):
    def __init__(self, status: int, error: str, **extra: object):
        self.status, self.body = status, {"error": error, **extra}


async def _keep_current(holder: ModelHolder, poll_seconds: float, watch: bool) -> None:
    while True:
        await asyncio.to_thread(holder.refresh)
        if not watch:
            return
        await asyncio.sleep(poll_seconds)


def _decode(uploads: list[tuple[str, bytes]], limits: ImageLimits) -> list[tuple[str, object]]:
    """(name, RGB image or the FileProblem's message) per upload."""
    decoded = []
    for name, data in uploads:
        try:
            decoded.append((name, decode_image(data, name, limits).image))
        except FileProblem as problem:
            decoded.append((name, str(problem)))
    return decoded


def create_app(
    holder: ModelHolder,
    config: ServiceConfig,
    limits: ImageLimits,
    registry: Callable[[], list[dict]],
    token: str | None = None,
    watch: bool = True,
) -> FastAPI:
    """The app; its lifespan loads the model (then, with `watch`, keeps polling the stage)
    and runs the micro-batcher."""
    batcher = MicroBatcher(holder.score, config.max_batch, config.max_wait_ms / 1000, limits.max_batch_pixels)
    decoder = ThreadPoolExecutor(1, thread_name_prefix="decode")  # off the event loop; one thread bounds the allocator's pools

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        keeper = asyncio.create_task(_keep_current(holder, config.poll_seconds, watch))
        yield
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await batcher.stop()
        decoder.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="aligngemini", summary="Is an image real or AI-generated? Both branches and their fusion.", lifespan=lifespan)
    app.state.batcher, app.state.holder = batcher, holder

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"malformed request: {problems}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"the server failed to score the request: {type(exc).__name__}: {exc}"}, status_code=500)

    @app.middleware("http")
    async def _bounded(request: Request, call_next):
        # Starlette spools a whole multipart body before the route sees it: refuse one that
        # could not hold only allowed files before a byte of it is read.
        largest = config.max_files * (limits.max_bytes + PART_OVERHEAD)
        length = request.headers.get("content-length", "")
        if request.url.path == "/v1/detect" and length.isdigit() and int(length) > largest:
            return JSONResponse({"error": f"request body of {length} bytes: at most {config.max_files} files of max_bytes={limits.max_bytes}"}, status_code=413)
        return await call_next(request)

    def authorise(request: Request, link: bool = False) -> None:
        """The bearer token from the Authorization header; the page (`link`) may also take
        it from `?token=`, since a browser opens it from a link. Scheme names ignore case."""
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            given = request.query_params.get("token", "") if link else ""
        if not secrets.compare_digest(given.strip().encode(), token.encode()):
            raise Refused(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")

    def ready() -> None:
        if holder.current is None:
            raise Refused(503, f"the model is not loaded yet{': ' + holder.last_error if holder.last_error else ''}")

    @app.get("/healthz")
    async def healthz() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict:
        """The model is loaded: detection requests are served."""
        ready()
        return {"status": "ready", "model_version": holder.current.model.version}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        """Registered versions with their stages, and the version being served."""
        authorise(request)
        serving = holder.current.model if holder.current else None
        found = await asyncio.to_thread(registry)
        return jsonable_encoder({"serving": serving and {"name": serving.name, "version": serving.version}, "versions": found})

    @app.post("/v1/detect")
    async def detect(request: Request, files: list[UploadFile] | None = File(None, description="One or more image files.")) -> JSONResponse:
        """Score each uploaded image; per file the fields of `aligngemini detect --json`."""
        authorise(request)
        ready()
        files = files or []
        if not files:
            raise Refused(422, "no file uploaded: send images as multipart form field 'files'")
        if len(files) > config.max_files:
            raise Refused(413, f"{len(files)} files uploaded: at most {config.max_files} per request")
        uploads = [(upload.filename or f"file {index + 1}", await upload.read(limits.max_bytes + 1)) for index, upload in enumerate(files)]
        decoded = await asyncio.get_running_loop().run_in_executor(decoder, _decode, uploads, limits)
        good = [(name, image) for name, image in decoded if not isinstance(image, str)]
        scored = iter(await batcher.submit([n for n, _ in good], [i for _, i in good]) if good else [])
        results = []
        for name, image in decoded:
            if isinstance(image, str):
                results.append(dict(zip(RESULT_KEYS, (name, None, None, None, None, None, image))))
                continue
            detection, model = next(scored)
            results.append(dict(zip(RESULT_KEYS, (name, detection.label, detection.p_fake, detection.p_semantic, detection.p_pixel, model.version, detection.error))))
        if all(result["error"] for result in results):
            raise Refused(422, "no file could be scored: " + "; ".join(result["error"] for result in results), results=results)
        return JSONResponse({"results": results})

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        """The page: pick or drop images, see each verdict and both branches' scores."""
        authorise(request, link=True)
        return HTMLResponse(resources.files("aligngemini.service").joinpath("page.html").read_text(encoding="utf-8"))

    return app
