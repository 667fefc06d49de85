import io
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from skimage import data

from aligngemini.service.app import RESULT_KEYS, create_app
from aligngemini.service.config import ServiceConfig
from aligngemini.service.holder import ModelHolder
from tests.conftest import _png_claiming


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


ASTRONAUT = png(data.astronaut()[100:196, 150:246])
COFFEE = png(data.coffee()[100:196, 150:246])


def animated_gif() -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def upload(*files: tuple[str, bytes]) -> list:
    return [("files", (name, content, "application/octet-stream")) for name, content in files]


def test_health_readiness_models_and_docs(make_app, registry):
    with TestClient(make_app()) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready", "model_version": "v0.0.1"}
        models = client.get("/v1/models").json()
        assert models["serving"] == {"name": "aligngemini-detector", "version": "v0.0.1"}
        assert [(v["version"], v["stages"]) for v in models["versions"]] == [("v0.0.2", []), ("v0.0.1", ["prod"])]
        assert "/v1/detect" in client.get("/openapi.json").json()["paths"] and client.get("/docs").status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "http://" not in page.text and "https://" not in page.text  # no external asset
    assert registry.loads == ["v0.0.1"]  # loaded once, at start-up


def test_several_images_are_scored_with_the_fields_of_detect_json(make_app):
    with TestClient(make_app()) as client:
        answer = client.post("/v1/detect", files=upload(("astronaut.png", ASTRONAUT), ("coffee.png", COFFEE)))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["file"] for r in results] == ["astronaut.png", "coffee.png"]
    for result in results:
        assert tuple(result) == RESULT_KEYS and result["error"] is None and result["model_version"] == "v0.0.1"
        assert result["label"] == ("fake" if result["p_fake"] > 0.5 else "real")
        assert all(0 <= result[key] <= 1 for key in ("p_fake", "p_semantic", "p_pixel"))


BAD = {
    "notes.txt": (b"just text\n", "not_an_image"),
    "broken.png": (ASTRONAUT[: len(ASTRONAUT) // 2], "truncated"),
    "bomb.png": (_png_claiming(100_000, 100_000), "too_large"),
    "moving.gif": (animated_gif(), "animated"),
    "big.png": (COFFEE + b"\x00" * 4096, "too_large"),  # above the 16 KiB max_bytes of this app
}


@pytest.mark.parametrize("name", BAD)
def test_each_bad_file_gets_its_own_error_and_the_good_ones_are_scored(make_app, name):
    content, reason = BAD[name]
    with TestClient(make_app(max_bytes=len(COFFEE) + 1024)) as client:
        alone = client.post("/v1/detect", files=upload((name, content)))
        assert alone.status_code == 422
        assert name in alone.json()["error"] and reason in alone.json()["results"][0]["error"]
        mixed = client.post("/v1/detect", files=upload(("coffee.png", COFFEE), (name, content)))
        assert mixed.status_code == 200
        good, bad = mixed.json()["results"]
        assert good["error"] is None and good["label"] in ("real", "fake")
        assert bad["label"] is None and bad["error"].startswith(f"{name}: {reason}")
        assert client.get("/healthz").status_code == 200  # still serving


def test_too_many_files_or_none_are_refused(make_app):
    with TestClient(make_app(max_files=2)) as client:
        many = client.post("/v1/detect", files=upload(*[(f"{i}.png", COFFEE) for i in range(3)]))
        assert many.status_code == 413 and "at most 2" in many.json()["error"]
        none = client.post("/v1/detect", data={"other": "x"})
        assert none.status_code == 422 and "no file uploaded" in none.json()["error"]


def test_a_client_path_is_never_opened(make_app, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(COFFEE)
    with TestClient(make_app()) as client:
        answer = client.post("/v1/detect", data={"files": str(secret)})
        named = client.post("/v1/detect", files=upload((str(secret), b"not the file's bytes")))
    assert answer.status_code == 422
    assert named.status_code == 422 and "not_an_image" in named.json()["results"][0]["error"]  # its bytes, not the path's


def test_the_token_guards_every_route_but_health(make_app):
    with TestClient(make_app(token="s3cret")) as client:
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
        for method, route in (("get", "/v1/models"), ("get", "/"), ("post", "/v1/detect")):
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                refused = getattr(client, method)(route, headers=headers)
                assert refused.status_code == 401 and "bearer token" in refused.json()["error"]
        ok = client.post("/v1/detect", files=upload(("coffee.png", COFFEE)), headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get("/?token=s3cret").status_code == 200  # the page is opened from a link
        assert client.get("/v1/models?token=s3cret").status_code == 401  # the API takes the header only: URLs end up in logs
        assert client.get("/v1/models", headers={"Authorization": "bearer s3cret"}).status_code == 200  # schemes ignore case


def test_every_error_is_json_naming_the_problem(make_app):
    with TestClient(make_app(max_files=1, max_bytes=len(COFFEE)), raise_server_exceptions=False) as client:
        assert client.get("/nowhere").json() == {"error": "Not Found"}
        malformed = client.post("/v1/detect", content=b"x", headers={"content-type": "multipart/form-data; boundary=zz"})
        assert malformed.status_code in (400, 422) and "error" in malformed.json()
        huge = client.post("/v1/detect", files=upload(("big.png", b"\x00" * (len(COFFEE) + 200 * 1024))))
        assert huge.status_code == 413 and "request body of" in huge.json()["error"]
        client.app.state.holder.current = type("Broken", (), {"detector": None, "model": None})()  # scoring raises
        broken = client.post("/v1/detect", files=upload(("coffee.png", COFFEE)))
        assert broken.status_code == 500 and "failed to score" in broken.json()["error"]


def test_concurrent_requests_share_batches(make_app):
    app = make_app(max_batch=8, max_wait_ms=300)
    with TestClient(app) as client:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(client.post("/v1/detect", files=upload(("a.png", ASTRONAUT))))) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert app.state.batcher.batches < 4


def test_a_batch_holds_no_more_decoded_pixels_than_max_batch_pixels(make_app, monkeypatch):
    side = 96  # the uploads' crops are 96 x 96
    sizes: list[list[int]] = []
    real_score = ModelHolder.score

    def spy(self, names, images):
        sizes.append([image.width * image.height for image in images])
        return real_score(self, names, images)

    monkeypatch.setattr(ModelHolder, "score", spy)
    app = make_app(max_batch=8, max_wait_ms=300, max_batch_pixels=2 * side * side)
    with TestClient(app) as client:
        answer = client.post("/v1/detect", files=upload(*((f"{n}.png", ASTRONAUT) for n in range(5))))
    assert answer.status_code == 200 and len(answer.json()["results"]) == 5
    assert sorted(len(batch) for batch in sizes) == [1, 2, 2], "the image that would not fit opens the next batch"
    assert all(sum(batch) <= 2 * side * side for batch in sizes)


class Paused:
    """A detector whose scoring waits for `go`: a request in flight."""

    def __init__(self, detector):
        self.detector, self.started, self.go = detector, threading.Event(), threading.Event()

    def detect_images(self, names, images):
        self.started.set()
        assert self.go.wait(60)
        return self.detector.detect_images(names, images)


def test_a_new_prod_version_is_swapped_in_while_a_request_in_flight_finishes_on_the_old(fused_project, loaded_detector, registry):
    from aligngemini.config import load_params

    old = Paused(loaded_detector)
    holder = ModelHolder(registry.resolve, lambda model: old if model.version == "v0.0.1" else loaded_detector)
    app = create_app(holder, ServiceConfig(max_wait_ms=0), load_params(fused_project.params).images, registry.versions, watch=False)
    with TestClient(app) as client:
        in_flight = []
        thread = threading.Thread(target=lambda: in_flight.append(client.post("/v1/detect", files=upload(("a.png", ASTRONAUT)))))
        thread.start()
        assert old.started.wait(60)
        registry.stage = "v0.0.2"
        assert holder.refresh() and client.get("/readyz").json()["model_version"] == "v0.0.2"
        old.go.set()
        thread.join()
        assert in_flight[0].json()["results"][0]["model_version"] == "v0.0.1"
        assert client.post("/v1/detect", files=upload(("a.png", ASTRONAUT))).json()["results"][0]["model_version"] == "v0.0.2"
        assert not holder.refresh()  # the same version is not loaded again


def test_the_service_follows_the_stage_as_it_moves(make_app, registry):
    with TestClient(make_app(watch=True, poll_seconds=0.05)) as client:
        registry.stage = "v0.0.2"
        deadline = time.monotonic() + 30
        while client.get("/readyz").json()["model_version"] != "v0.0.2":
            assert time.monotonic() < deadline, "the new version was never swapped in"
            time.sleep(0.05)
    assert registry.loads[:2] == ["v0.0.1", "v0.0.2"]


def test_not_ready_until_the_model_loads(fused_project, registry):
    from aligngemini.config import load_params
    from aligngemini.model_registry import NoRegisteredModel

    def nothing():
        raise NoRegisteredModel("no version is registered yet")

    app = create_app(ModelHolder(nothing, lambda m: None), ServiceConfig(), load_params(fused_project.params).images, registry.versions, watch=False)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        waiting = client.get("/readyz")
        assert waiting.status_code == 503 and "no version is registered yet" in waiting.json()["error"]
        assert client.post("/v1/detect", files=upload(("a.png", ASTRONAUT))).status_code == 503


def test_a_load_that_crashes_keeps_the_service_up_and_polling(fused_project, loaded_detector, registry):
    from aligngemini.config import load_params

    attempts = []

    def load(model):
        attempts.append(model.version)
        if len(attempts) == 1:
            raise OSError("checkpoint unreadable")
        return loaded_detector

    app = create_app(ModelHolder(registry.resolve, load), ServiceConfig(poll_seconds=0.05), load_params(fused_project.params).images, registry.versions, watch=True)
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service stopped trying after a failed load"
            time.sleep(0.05)
    assert attempts[:2] == ["v0.0.1", "v0.0.1"]
