"""The page at / in a real browser: Debian's Chromium, headless, driven by Selenium, against
the app served by a real uvicorn server on a loopback port. Uploads go through the page's
own file input, so its fetch + FormData, its bearer header and its rendering are what is
tested. ALIGNGEMINI_SCREENSHOT=1 also writes docs/serve-page.png (the two-image result)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "serve-page.png"
VERSION = "v0.0.1"  # the version the conftest registry serves
WAIT_S = 60


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module; never lets Selenium Manager fetch anything."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's chromium and chromium-driver, missing: {', '.join(missing)}; "
            "install them with `make browser` (as root; `make test` and .ci/run do it) or "
            "`apt-get install chromium chromium-driver`",
            pytrace=False,
        )
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1100, 800)
    yield driver
    driver.quit()


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a real uvicorn server (its own thread, a socket bound beforehand so no
    other process can take the port); yields the base URL once /readyz is 200."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                    if response.status == 200:
                        break
            except urllib.error.HTTPError as error:
                assert time.monotonic() < deadline, f"/readyz still {error.code}: {error.read().decode()}"
            time.sleep(0.1)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        sock.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    """Two small photos (crops of skimage's astronaut and coffee) and a text file."""
    from skimage import data

    root = tmp_path_factory.mktemp("uploads")
    paths = {"astronaut": root / "astronaut.png", "coffee": root / "coffee.png", "notes": root / "notes.txt"}
    Image.fromarray(data.astronaut()[40:200, 150:310]).save(paths["astronaut"])
    Image.fromarray(data.coffee()[60:220, 200:360]).save(paths["coffee"])
    paths["notes"].write_text("these are notes, not pixels\n")
    return paths


def upload(driver, *paths: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "files").send_keys("\n".join(str(path.resolve()) for path in paths))


def cards_when(driver, count: int, done) -> list[dict]:
    """Waits until `count` cards show and `done(cards)`; each card as a dict of its text."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    script = """return Array.from(document.querySelectorAll('.card')).map(c => ({
        file: c.dataset.file, verdict: c.querySelector('.verdict').textContent,
        error: c.querySelector('.file-error').textContent, text: c.innerText}));"""
    seen: list[dict] = []

    def ready(d):
        nonlocal seen
        seen = d.execute_script(script)
        return len(seen) == count and done(seen)

    try:
        WebDriverWait(driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(ready)
    except Exception:
        message = driver.execute_script("return document.getElementById('message').textContent")
        pytest.fail(f"cards never settled: {json.dumps(seen)}; page message: {message!r}")
    return seen


def serving_line(driver) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(lambda d: VERSION in d.find_element("id", "serving").text)
    return driver.find_element("id", "serving").text


def scored(cards: list[dict]) -> bool:
    return all(card["verdict"] in ("REAL", "FAKE") for card in cards)


def test_two_images_then_a_text_file(browser, make_app, uploads):
    with served(make_app()) as base:
        browser.get(base + "/")
        assert "aligngemini-detector" in serving_line(browser)

        upload(browser, uploads["astronaut"], uploads["coffee"])
        cards = cards_when(browser, 2, scored)
        assert [card["file"] for card in cards] == ["astronaut.png", "coffee.png"]
        for card in cards:
            assert card["error"] == ""
            assert f"model {VERSION}" in card["text"]
            for label in ("fused", "pixel", "semantic"):
                assert label in card["text"]
        assert browser.find_element("id", "message").text == ""
        if os.environ.get("ALIGNGEMINI_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(exist_ok=True)
            browser.save_screenshot(str(SCREENSHOT))
            Image.open(SCREENSHOT).convert("RGB").quantize(128).save(SCREENSHOT, optimize=True)

        upload(browser, uploads["notes"])  # nothing can be scored: a 422 with per-file results
        (card,) = cards_when(browser, 1, lambda cards: cards[0]["verdict"] == "ERROR")
        assert card["file"] == "notes.txt"
        assert "notes.txt" in card["error"] and "not_an_image" in card["error"]
        assert "no file could be scored" in browser.find_element("id", "message").text


def test_the_page_sends_the_bearer_token(browser, make_app, uploads):
    with served(make_app(token="s3cret")) as base:
        browser.get(base + "/?token=s3cret")
        assert "aligngemini-detector" in serving_line(browser)  # GET /v1/models with the header
        upload(browser, uploads["astronaut"])
        (card,) = cards_when(browser, 1, scored)  # POST /v1/detect (no ?token) with the header
        assert card["file"] == "astronaut.png" and f"model {VERSION}" in card["text"]


def test_a_refused_request_shows_the_servers_error(browser, make_app, uploads):
    with served(make_app(max_files=1)) as base:
        browser.get(base + "/")
        upload(browser, uploads["astronaut"], uploads["coffee"])  # a 413: no per-file results
        cards = cards_when(browser, 2, lambda cards: all(card["verdict"] == "ERROR" for card in cards))
        assert all("not scored" in card["error"] for card in cards)
        assert browser.find_element("id", "message").text == "2 files uploaded: at most 1 per request"
