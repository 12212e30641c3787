"""The app in a real browser: Debian's headless Chromium, driven by Playwright, offline.

Skipped where /usr/bin/chromium is absent (`.ci/run` installs Debian's `chromium` package;
Playwright never downloads a browser here). With FSRCNN_UPDATE_SCREENSHOT=1 and trained
weights, the screenshot of the main journey is also written to docs/app.png for the README.
"""
import io
import os
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from app_helpers import CHROMIUM, EXAMPLES, ROOT, app_weights, running_app

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (Debian package `chromium`)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 90_000  # for a run; a busy 2-core CI machine is slow
CAT = EXAMPLES / "cat.png"  # 256 x 170
SCREENSHOT = ROOT / "docs" / "app.png"


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    weights, trained = app_weights(request)
    workdir = tmp_path_factory.mktemp("app-browser")
    with running_app(weights, workdir) as url:
        yield url, trained


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with a fresh profile; every request it makes is recorded, to prove the app is offline."""
    requests = []
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 900}, accept_downloads=True,
        )
        context.on("request", lambda r: requests.append(r.url))
        context.set_default_timeout(TIMEOUT_MS)
        yield context, requests
        context.close()


@pytest.fixture
def page(server, browser):
    url, _ = server
    context, _ = browser
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#upscale")
    yield page
    page.close()


def upload(page, path):
    page.set_input_files("#photo input[type=file]", str(path))
    page.wait_for_selector("#photo img")


def rendered_size(page, selector) -> tuple[int, int]:
    """(width, height) of the image the browser decoded in a panel, once it has decoded one."""
    image = f"document.querySelector('{selector} img')"
    page.wait_for_function(f"{image}?.complete && {image}.naturalWidth > 0")
    return tuple(page.eval_on_selector(f"{selector} img", "i => [i.naturalWidth, i.naturalHeight]"))


def panel_pixels(page, selector) -> np.ndarray:
    src = page.eval_on_selector(f"{selector} img", "i => i.src")
    with Image.open(io.BytesIO(page.request.get(src).body())) as im:
        return np.asarray(im)


def test_upscale_journey(page, server, tmp_path):
    """Upload, switch the self-ensemble on, choose x3, run; four panels, a slider, a PNG download."""
    _, trained = server
    assert not page.is_visible("#panel-ensemble")  # the self-ensemble is off at first
    upload(page, CAT)
    page.check("#ensemble input[type=checkbox]")
    page.wait_for_selector("#panel-ensemble", state="visible")
    page.click("#scale label:has-text('x3')")
    page.click("#upscale")

    page.wait_for_function("document.querySelector('#panel-fsrcnn')?.innerText.includes(' ms)') || "
                           "document.querySelector('#panel-fsrcnn')?.innerText.includes(' s)')")
    for key in ("original", "bicubic", "fsrcnn", "ensemble"):
        assert rendered_size(page, f"#panel-{key}") == (768, 510), key
    assert page.locator("#slider img").count() == 2
    assert "256×170 → 768×510" in page.inner_text("#report")

    download_button = page.locator("#download")
    assert "cat_x3_ensemble.png" in download_button.inner_text()
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "cat_x3_ensemble.png" and saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(saved) as im:
        np.testing.assert_array_equal(np.asarray(im), panel_pixels(page, "#panel-ensemble"))

    page.screenshot(path=tmp_path / "app.png", full_page=True)
    if os.environ.get("FSRCNN_UPDATE_SCREENSHOT"):
        if not trained:
            pytest.fail("FSRCNN_UPDATE_SCREENSHOT needs trained weights (shipped, or $FSRCNN_TEST_WEIGHTS)")
        save_for_readme(tmp_path / "app.png", SCREENSHOT)


def test_compare_mode_shows_scores(page):
    page.click("#mode label:has-text('Compare')")
    page.wait_for_selector("#compare", state="visible")
    assert not page.is_visible("#upscale")
    upload(page, CAT)
    page.click("#compare")
    page.wait_for_function("document.querySelector('#report')?.innerText.includes('PSNR (dB)')")
    page.wait_for_function("document.querySelector('#panel-fsrcnn')?.innerText.includes(' dB')")
    assert "Original (ground truth)" in page.inner_text("#panel-original")
    assert rendered_size(page, "#panel-bicubic") == (256, 170)


def test_a_broken_file_gets_a_message_and_the_app_keeps_working(page, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"definitely not the rest of a PNG" * 20)
    page.set_input_files("#photo input[type=file]", str(broken))
    page.wait_for_timeout(500)
    page.click("#upscale")
    page.get_by_text("broken.png: damaged or truncated image").wait_for()
    upload(page, CAT)
    page.click("#upscale")
    page.wait_for_function("document.querySelector('#report')?.innerText.includes('Upscaled x2')")
    assert rendered_size(page, "#panel-fsrcnn") == (512, 340)


def test_nothing_leaves_the_machine(browser, server):
    """Run last in this file: every request any page made went to the app on the loopback address."""
    _, requests = browser
    assert requests, "the browser made no requests at all"
    outside = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert outside == []


def save_for_readme(screenshot, target, max_bytes=300_000):
    """A README-sized copy: 256 colours, 1000 pixels wide or as much less as it takes to stay under `max_bytes`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(screenshot) as im:
        im = im.convert("RGB")
    for width in range(1000, 500, -100):
        small = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
        small.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)
        if target.stat().st_size < max_bytes:
            return
    pytest.fail(f"{target} is still {target.stat().st_size} bytes at {width} pixels wide")


def test_a_photo_over_the_limit_is_refused_on_the_spot(page, tmp_path):
    """Checked before the request queues: the message appears on the photo within seconds."""
    Image.new("RGB", (1100, 1000), "gray").save(tmp_path / "huge.png")
    upload(page, tmp_path / "huge.png")
    page.click("#upscale")
    message = page.get_by_text("huge.png: 1100x1000 is 1.1 megapixels, over the limit of 1.0: shrink or crop it first")
    message.wait_for(state="visible", timeout=15_000)
