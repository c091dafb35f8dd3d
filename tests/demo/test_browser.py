"""The demo in a real browser: Debian's chromium driven by Playwright (no browser download).

Uploads the example, clicks on the image at a known pixel, waits for the answers, checks the overlay
and the words, and saves a screenshot (to SEAGULL_DEMO_SCREENSHOT when set: docs/demo.png is made so).
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.levels import IMPORTANCE_WORDS, QUALITY_WORDS

CHROMIUM = shutil.which("chromium")
INSTALL = "apt-get install -y chromium (Debian's package; Playwright drives it, no browser download)"
POSITIVE_MARKER = (0, 220, 0)  # seagull.demo.session's colour of a positive point
DRAG = ((60, 150), (330, 280))  # a box over the suit, from corner to corner
CLICK = (192, 90)  # pixel (x, y) of the 384 x 288 example: the astronaut's face
# Chromium switches that keep a headless browser from calling out (this machine has no network).
QUIET_CHROMIUM = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
    "--disable-domain-reliability",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason=f"chromium is not installed: {INSTALL}"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make setup")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET_CHROMIUM)
        yield browser
        browser.close()


def test_upload_click_and_read_the_answers(browser, served, example_png, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    outbound: list[str] = []
    page.on("request", lambda r: _is_local(r.url) or outbound.append(r.url))
    page.goto(served)
    page.locator("#upload input[type=file]").set_input_files(str(example_png))
    canvas = page.locator("#canvas img")
    canvas.wait_for(state="visible", timeout=60_000)

    box = canvas.bounding_box()
    natural = canvas.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [384, 288]
    # object-fit: scale-down, as Gradio maps clicks: never enlarged, centred in the element's box.
    scale = min(box["width"] / natural[0], box["height"] / natural[1], 1.0)
    left = box["x"] + (box["width"] - natural[0] * scale) / 2
    top = box["y"] + (box["height"] - natural[1] * scale) / 2
    page.mouse.click(left + (CLICK[0] + 0.5) * scale, top + (CLICK[1] + 0.5) * scale)

    answers = page.locator("#answers")
    answers.get_by_text("Quality:").wait_for(timeout=120_000)
    text = answers.inner_text()
    assert _word_after(text, "Quality:") in QUALITY_WORDS
    assert _word_after(text, "Importance:") in IMPORTANCE_WORDS
    assert "Distortions:" in text
    assert "not meaningful" in page.locator("#message").inner_text()
    assert "felzenszwalb_rag" in page.locator("#segmenter").inner_text()
    for chart in ("#quality", "#importance", "#severity", "#dist-type"):
        assert page.locator(chart).inner_text().strip(), f"{chart} bar chart is empty"

    drawn = _decode(page.request.get(canvas.get_attribute("src")).body())
    original = cv2.cvtColor(cv2.imread(str(example_png)), cv2.COLOR_BGR2RGB)
    marker = np.argwhere((drawn == POSITIVE_MARKER).all(-1))  # (y, x) of the green point mark
    assert len(marker), "no point marker on the overlay"
    assert np.abs(marker.mean(0) - CLICK[::-1]).max() <= 2, (
        f"marker at {marker.mean(0)[::-1]}, clicked {CLICK}"
    )
    changed = np.abs(drawn.astype(int) - original.astype(int)).sum(-1) > 0
    assert changed.sum() > 3 * len(marker), "no tinted ROI beyond the marker"
    assert changed.mean() < 0.9, "the overlay should cover the ROI, not the whole image"

    shot = Path(os.environ.get("SEAGULL_DEMO_SCREENSHOT") or tmp_path / "demo.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    # A drag draws a box: its region joins the ROI, and the drag's final click adds no point.
    to_screen = lambda x, y: (left + (x + 0.5) * scale, top + (y + 0.5) * scale)  # noqa: E731
    page.mouse.move(*to_screen(*DRAG[0]))
    page.mouse.down()
    page.mouse.move(*to_screen(*DRAG[1]), steps=5)
    page.mouse.up()
    answers.get_by_text("1 positive point, 1 box").wait_for(timeout=120_000)
    assert outbound == [], f"the page called out: {outbound}"


def _is_local(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("data", "blob") or parsed.hostname in ("127.0.0.1", "localhost")


def _word_after(text: str, label: str) -> str:
    return text.split(label, 1)[1].split()[0]


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the overlay is not a decodable image"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
