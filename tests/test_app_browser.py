"""The app in a real browser: Debian's headless Chromium, driven by Playwright, offline.

Skipped where /usr/bin/chromium is absent (`.ci/run` installs Debian's `chromium` package;
Playwright never downloads a browser here). With FSRCNN_UPDATE_SCREENSHOT=1 and trained
weights, the screenshot of the main journey is also written to docs/app.png.

The photo here is over the app's old 1-megapixel limit but small enough to keep the suite fast;
the 12-megapixel case is timed in benchmarks/app_latency.py.
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
TIMEOUT_MS = 120_000  # for a run; a busy 2-core CI machine is slow
CAT = EXAMPLES / "cat.png"  # 256 x 170
SCREENSHOT = ROOT / "docs" / "app.png"
CROPS = ("original", "bicubic", "fsrcnn", "ensemble")


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    weights, trained = app_weights(request)
    workdir = tmp_path_factory.mktemp("app-browser")
    with running_app(weights, workdir) as url:
        yield url, trained, weights


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with a fresh profile; every request it makes is recorded, to prove the app is offline."""
    requests = []
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 1000}, accept_downloads=True,
        )
        context.on("request", lambda r: requests.append(r.url))
        context.set_default_timeout(TIMEOUT_MS)
        yield context, requests
        context.close()


@pytest.fixture
def page(server, browser):
    url, *_ = server
    context, _ = browser
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#upscale")
    yield page
    page.close()


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory) -> "Path":  # noqa: F821
    """A JPEG over the app's old 1-megapixel limit, as a phone would save it: a Photos24 photo
    when ../shared is here, else the cat enlarged to 1776x1180 with a little noise."""
    path = tmp_path_factory.mktemp("photo") / "IMG_1234.jpg"
    photo = ROOT.parent / "shared" / "data" / "Photos24" / "001.png"
    if photo.exists():
        with Image.open(photo) as im:
            im.convert("RGB").save(path, quality=90)
        return path
    with Image.open(CAT) as im:
        big = np.asarray(im.convert("RGB").resize((1776, 1180), Image.Resampling.BICUBIC), np.float64)
    big += np.random.default_rng(0).normal(0, 3, big.shape)
    Image.fromarray(big.clip(0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def upload(page, path):
    page.set_input_files("#photo input[type=file]", str(path))


def wait_report(page, text):
    page.wait_for_function(f"document.querySelector('#report')?.innerText.includes({text!r})")


def crop_src(page, key) -> str | None:
    return page.evaluate(f"document.querySelector('#crop-{key} img')?.src ?? null")


def image_pixels(page, selector) -> np.ndarray:
    image = f"document.querySelector('{selector} img')"
    page.wait_for_function(f"{image}?.complete && {image}.naturalWidth > 0")
    src = page.eval_on_selector(f"{selector} img", "i => i.src")
    with Image.open(io.BytesIO(page.request.get(src).body())) as im:
        return np.asarray(im)


def run_and_download(page, tmp_path, button="#upscale"):
    page.click(button)
    page.wait_for_function("document.querySelector('#download')?.innerText.startsWith('Download ') && "
                           "!document.querySelector('#download')?.innerText.includes('full result')")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def where(crop: np.ndarray, full: np.ndarray, near: tuple[int, int], reach: int = 24) -> tuple[int, int]:
    """(y, x) of the one window of `full` equal to `crop`, looked for around `near`."""
    h, w = crop.shape[:2]
    hits = [(y, x) for y in range(max(0, near[0] - reach), min(full.shape[0] - h, near[0] + reach) + 1)
            for x in range(max(0, near[1] - reach), min(full.shape[1] - w, near[1] + reach) + 1)
            if np.array_equal(full[y:y + h, x:x + w], crop)]
    assert len(hits) == 1, f"the crop is {len(hits)} windows of the full result near {near}"
    return hits[0]


def test_journey_a_photo_over_the_old_limit_gets_a_detail_view_and_the_cli_s_png(page, server, phone_photo, tmp_path):
    """The journey: a phone JPEG at x2; 1:1 crops appear, then the PNG, equal to the CLI's."""
    _, trained, weights = server
    with Image.open(phone_photo) as im:
        w, h = im.size
    upload(page, phone_photo)
    wait_report(page, f"IMG_1234.jpg: {w}×{h} pixels")  # checked on upload: it is fine
    page.check("#ensemble input[type=checkbox]")
    page.wait_for_selector("#crop-ensemble", state="visible")
    page.uncheck("#ensemble input[type=checkbox]")  # the CLI's default: plain FSRCNN
    page.click("#model label:has-text('Clean')")  # the same weights whichever are installed
    wait_report(page, f"IMG_1234.jpg: {w}×{h} pixels")  # a changed setting clears and checks again
    saved = run_and_download(page, tmp_path)
    assert saved.name == "IMG_1234_x2_fsrcnn.png" and saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key in ("original", "bicubic", "fsrcnn"):
        assert image_pixels(page, f"#crop-{key}").shape[:2] == (256, 256), key
    overview = image_pixels(page, "#overview")
    assert overview.shape[:2] == (round(h * 1000 / w), 1000)  # the whole photo, small
    assert f"{w}×{h} → {2 * w}×{2 * h}" in page.inner_text("#report")

    from fsrcnn.cli import main as cli

    assert cli(["upscale", str(phone_photo), "--scale", "2", "--model", "clean", "--output", str(tmp_path / "cli"),
                "--weights-dir", str(weights)]) == 0
    with Image.open(saved) as mine, Image.open(tmp_path / "cli" / "IMG_1234.png") as theirs:
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert page.locator("#slider img").count() == 2  # bicubic and FSRCNN on the same region

    page.screenshot(path=tmp_path / "app.png", full_page=True)
    if os.environ.get("FSRCNN_UPDATE_SCREENSHOT"):
        if not trained:
            pytest.fail("FSRCNN_UPDATE_SCREENSHOT needs trained weights (shipped, or $FSRCNN_TEST_WEIGHTS)")
        save_for_readme(tmp_path / "app.png", SCREENSHOT)


def test_clicking_the_overview_moves_every_crop_to_the_same_place(page, phone_photo, tmp_path):
    upload(page, phone_photo)
    page.check("#ensemble input[type=checkbox]")
    page.click("#scale label:has-text('x4')")
    full = np.asarray(Image.open(run_and_download(page, tmp_path)))  # the ensemble at x4
    before = {k: crop_src(page, k) for k in CROPS}
    box = page.locator("#overview img").bounding_box()
    page.locator("#overview img").click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.75})
    page.wait_for_function(f"document.querySelector('#crop-fsrcnn img')?.src !== {before['fsrcnn']!r}")
    page.wait_for_function(f"document.querySelector('#crop-ensemble img')?.src !== {before['ensemble']!r}")
    crops = {k: image_pixels(page, f"#crop-{k}") for k in CROPS}
    # the click at (20%, 75%) of the photo: the crop's centre is there, in the x4 result
    near = (round(0.75 * full.shape[0]) - 128, round(0.2 * full.shape[1]) - 128)
    y, x = where(crops["ensemble"], full, near)
    with Image.open(phone_photo) as im:
        rgb = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(crops["original"], rgb.repeat(4, 0).repeat(4, 1)[y:y + 256, x:x + 256])
    from fsrcnn.upscaler import bicubic_array

    lr_box = rgb[y // 4 - 3:(y + 256) // 4 + 3, x // 4 - 3:(x + 256) // 4 + 3]  # bicubic reaches 2 pixels
    np.testing.assert_array_equal(crops["bicubic"], bicubic_array(lr_box, 4)[12:268, 12:268])
    assert crops["fsrcnn"].shape == (256, 256, 3) and not np.array_equal(crops["fsrcnn"], crops["bicubic"])


def test_an_error_after_a_success_clears_the_old_results(page, tmp_path):
    upload(page, CAT)
    run_and_download(page, tmp_path)
    assert crop_src(page, "fsrcnn")
    cut = tmp_path / "cut.png"  # a header that reads fine, pixels that do not
    cut.write_bytes(CAT.read_bytes()[:20_000])
    upload(page, cut)
    wait_report(page, "cut.png: 256×170 pixels")
    assert crop_src(page, "fsrcnn") is None and crop_src(page, "original") is None  # cleared on upload
    assert page.locator("#download").is_disabled()
    page.click("#upscale")
    page.get_by_text("cut.png: damaged or truncated image").first.wait_for()
    wait_report(page, "the last request failed")
    assert crop_src(page, "fsrcnn") is None and page.locator("#download").is_disabled()


def test_a_bad_file_shows_its_message_on_upload(page, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is text, not a picture" * 20)
    upload(page, broken)
    wait_report(page, "broken.png: not an image file")  # without pressing any button
    # The upload box shows no broken-image icon: the picture it failed to draw is hidden.
    page.wait_for_function("[...document.querySelectorAll('#photo img')].some(i => i.complete && !i.naturalWidth)")
    assert page.evaluate("[...document.querySelectorAll('#photo img')].filter(i => i.complete && !i.naturalWidth)"
                         ".every(i => getComputedStyle(i).visibility === 'hidden')")
    from test_bad_inputs import png_header_only

    (tmp_path / "huge.png").write_bytes(png_header_only(8200, 6200))
    upload(page, tmp_path / "huge.png")
    wait_report(page, "huge.png: 8200x6200 is 50.8 megapixels, over the limit of 50.0")
    upload(page, CAT)  # and the app goes on
    wait_report(page, "cat.png: 256×170 pixels")
    page.wait_for_function("[...document.querySelectorAll('#photo img')].some(i => i.complete && i.naturalWidth)")
    assert page.evaluate("[...document.querySelectorAll('#photo img')].filter(i => i.naturalWidth)"
                         ".every(i => getComputedStyle(i).visibility !== 'hidden')")
    page.click("#upscale")
    wait_report(page, "Full result:")


def test_compare_mode_shows_scores_of_the_whole_image(page):
    page.click("#mode label:has-text('Compare')")
    page.wait_for_selector("#compare", state="visible")
    assert not page.is_visible("#upscale") and page.is_visible("#degradation")
    upload(page, CAT)
    page.click("#degradation label:has-text('JPEG quality 75')")
    page.click("#compare")
    wait_report(page, "PSNR (dB)")
    page.wait_for_function("document.querySelector('#crop-fsrcnn')?.innerText.includes(' dB')")
    assert "Original (ground truth)" in page.inner_text("#crop-original")
    assert "degraded (JPEG quality 75)" in page.inner_text("#report")
    assert image_pixels(page, "#crop-bicubic").shape[:2] == (170, 256)


def detail_in_window(page) -> dict:
    """The detail view's box (overview, slider, download) and the window: the box must lie inside it."""
    page.wait_for_timeout(300)  # the scroll runs on the next animation frame
    box = page.locator("#detail").bounding_box()
    size = page.viewport_size
    assert box is not None
    inside = box["y"] >= -1 and box["y"] + box["height"] <= size["height"] + 1 and box["x"] >= -1 and \
        box["x"] + box["width"] <= size["width"] + 1
    assert inside, f"the detail view {box} is not inside the {size['width']}x{size['height']} window"
    return box


@pytest.mark.parametrize("window", [(1400, 1000), (390, 844)])
def test_the_detail_view_is_in_the_window_after_each_action(page, phone_photo, window):
    page.set_viewport_size({"width": window[0], "height": window[1]})
    upload(page, phone_photo)
    wait_report(page, "IMG_1234.jpg")
    page.click("#upscale")
    page.wait_for_function("document.querySelector('#overview img')?.complete")
    detail_in_window(page)
    wait_report(page, "Full result:")
    detail_in_window(page)
    box = page.locator("#overview img").bounding_box()
    before = crop_src(page, "fsrcnn")
    page.locator("#overview img").click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.6})
    page.wait_for_function(f"document.querySelector('#crop-fsrcnn img')?.src !== {before!r}")
    detail_in_window(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.click("#mode label:has-text('Compare')")
    page.wait_for_selector("#compare", state="visible")
    upload(page, CAT)
    wait_report(page, "cat.png")
    page.click("#compare")
    wait_report(page, "PSNR (dB)")
    detail_in_window(page)


def test_the_first_page_shows_an_example_result(page):
    page.wait_for_function("document.querySelector('#crop-fsrcnn img')?.complete")
    assert "Example: " in page.inner_text("#crop-fsrcnn")
    assert page.locator("#overview img").count() == 1


def test_many_photos_give_one_zip_and_a_bad_file_is_reported(page, tmp_path):
    import zipfile

    bundle = tmp_path / "holiday.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(CAT, "cat.png")
        z.write(EXAMPLES / "coffee.png", "trip/coffee.png")
        z.writestr("broken.jpg", b"not a photo at all" * 10)
    page.click("button[role=tab]:has-text('Many photos')")
    page.set_input_files("#files input[type=file]", str(bundle))
    page.click("#upscale-many")
    page.wait_for_function("document.querySelector('#many-report')?.innerText.includes('result(s)')")
    text = page.inner_text("#many-report")
    assert "2 result(s)" in text and "broken.jpg: not an image file" in text
    with page.expect_download() as info:
        page.click("#many-download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as z:
        assert sorted(z.namelist()) == ["cat_x2_fsrcnn.png", "coffee_x2_fsrcnn.png"]
        with Image.open(io.BytesIO(z.read("cat_x2_fsrcnn.png"))) as im:
            assert im.size == (512, 340)


def test_a_request_during_the_warm_up_is_served_and_says_so(request, browser, tmp_path):
    """A fresh app: a request sent as soon as the page answers is served while the networks compile."""
    weights, _ = app_weights(request)
    context, _ = browser
    with running_app(weights, tmp_path) as url:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#upscale")
        upload(page, CAT)
        wait_report(page, "cat.png")
        page.click("#upscale")
        wait_report(page, "Full result:")
        log = (tmp_path / "app.log").read_text()
        assert "still compiling its networks" in page.inner_text("#report"), log
        page.close()


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
