"""Every row of docs/bad-inputs.md, in the command line (and so the library) and in the app.

Each row of the table there has an id; `CASES` below holds the rows about an input file, each
tried in `python -m fsrcnn upscale` (in-process) and in the app's two steps, the check made
before a request is queued and the request itself (events.validator and events.handler, in-process).
The other rows have a test of their own (`OTHER_ROWS`). Two rows also go through the live app.
All inputs are made here, a few pixels or bytes each.
"""
import io
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from app_helpers import ROOT
from fsrcnn import demo as logic
from fsrcnn.cli import main as cli
from fsrcnn.images import ImageError, open_image

DOC = ROOT / "docs" / "bad-inputs.md"
APP_LIMIT = 64 * 64  # the app's --max-pixels in these tests: the over-limit input stays tiny


# --- inputs ------------------------------------------------------------------------------------

def photo(w: int = 24, h: int = 16, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8))


def encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_header_only(w: int, h: int) -> bytes:
    """A valid PNG of a few bytes whose header claims w x h RGB pixels: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def png_16_bit_rgb(w: int = 6, h: int = 4) -> bytes:
    """An RGB PNG with 16 bits per channel (Pillow cannot write one)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + np.full((w, 3), 257 * (40 * y), ">u2").tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def broken(data: bytes, at: int, replacement: bytes) -> bytes:
    return data[:at] + replacement + data[at + len(replacement):]


def jpeg_with_broken_frame_header() -> bytes:
    data = encoded(photo(), "JPEG")
    sof = data.index(b"\xff\xc0")  # the frame header: precision, height, width, components
    return broken(data, sof + 5, b"\0\0\0\0")  # height and width 0


def animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (12, 10), c) for c in ("red", "lime", "blue")]
    lossless = {"lossless": True} if fmt == "WEBP" else {}
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], **lossless)


def palette_with_transparency() -> bytes:
    im = Image.new("P", (10, 8), 1)
    im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    im.paste(0, (0, 0, 5, 8))  # left half: index 0, the transparent one
    return encoded(im, "PNG", transparency=0)


def exif_rotated() -> bytes:
    im = photo(12, 24)  # stored 12 wide, 24 high
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return encoded(im, "JPEG", exif=exif.tobytes())


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- what should happen ------------------------------------------------------------------------

@dataclass
class Refused:
    message: str  # regex, after "<file name>: "


@dataclass
class Upscaled:
    size: tuple[int, int]  # of the x2 result (the CLI's file, the app's FSRCNN panel)
    note: str | None = None  # regex of a note the CLI prints and the app's report shows
    # check(image as read by the library, x2 result); colours are checked on the former, as the
    # result's luma comes from the untrained stand-in network.
    check: Callable[[Image.Image, Image.Image], None] | None = None


def first_frame(read, out):
    assert read.getpixel((0, 0)) == (255, 0, 0)


def sixteen_bit_gray(read, out):
    assert read.mode == out.mode == "L" and read.getextrema() == (0, 50)  # 0..12850 of 65535, not clipped at 255


def sixteen_bit_rgb(read, out):
    assert read.mode == out.mode == "RGB" and read.getpixel((0, read.height - 1)) == (120, 120, 120)  # 257 * 120


def rgb(read, out):
    assert read.mode == out.mode == "RGB"


def transparency_kept(read, out):
    assert read.mode == out.mode == "RGBA"
    alpha = np.asarray(out)[..., 3]  # alpha is enlarged by bicubic: exact away from the edge
    assert alpha[:, :4].max() == 0 and alpha[:, -4:].min() == 255


def upright(read, out):
    assert read.size == (24, 12)


def icc_kept(read, out):
    assert out.info.get("icc_profile") == SRGB


@dataclass
class Case:
    id: str
    name: str  # file name
    content: Callable[[], bytes]
    cli: Refused | Upscaled
    app: Refused | Upscaled
    mode: str = logic.UPSCALE  # the app's mode for this row


CASES = [
    Case("empty-file", "empty.png", lambda: b"", Refused(r"the file is empty \(0 bytes\)"),
         Refused(r"the file is empty \(0 bytes\)")),
    Case("not-an-image", "notes.png", lambda: b"shopping list: milk, eggs\n",
         Refused(r"not an image file, or a format that cannot be read \(use PNG, JPEG"),
         Refused(r"not an image file, or a format that cannot be read \(use PNG, JPEG")),
    Case("truncated-png", "cut.png", lambda: encoded(photo(64, 64), "PNG")[:3000],
         Refused(r"damaged or truncated image \(image file is truncated\)"),
         Refused(r"damaged or truncated image \(image file is truncated\)")),
    Case("truncated-jpeg", "cut.jpg", lambda: encoded(photo(64, 64), "JPEG")[:1500],
         Refused(r"damaged or truncated image \(image file is truncated"),
         Refused(r"damaged or truncated image \(image file is truncated")),
    Case("broken-png-header", "header.png", lambda: broken(encoded(photo(), "PNG"), 16, b"\xff\xff\xff\xff"),
         Refused("damaged PNG file: its header cannot be read"),
         Refused("damaged PNG file: its header cannot be read")),
    Case("broken-jpeg-header", "header.jpg", jpeg_with_broken_frame_header,
         Refused("damaged JPEG file: its header cannot be read"),
         Refused("damaged JPEG file: its header cannot be read")),
    Case("heic", "IMG_0001.HEIC", lambda: b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64),
         Refused("HEIC/HEIF photos cannot be read here: convert it to JPEG or PNG first"),
         Refused("HEIC/HEIF photos cannot be read here: convert it to JPEG or PNG first")),
    Case("one-pixel", "dot.png", lambda: encoded(Image.new("RGB", (1, 1), "teal"), "PNG"),
         Upscaled((2, 2)), Upscaled((2, 2))),
    Case("one-pixel-strip", "strip.png", lambda: encoded(photo(1, 40), "PNG"),
         Upscaled((2, 80)), Upscaled((2, 80))),
    Case("too-small-to-compare", "small.png", lambda: encoded(photo(14, 40), "PNG"),
         Upscaled((28, 80)),
         Refused(r"14×40 is too small to measure at x2; compare mode needs at least 15×15 pixels"), logic.COMPARE),
    Case("over-the-pixel-limit", "big.png", lambda: encoded(Image.new("RGB", (65, 64)), "PNG"),
         Upscaled((130, 128)),
         Refused(f"65x64 is 4160 pixels, over the limit of {APP_LIMIT}: shrink or crop it first")),
    Case("decompression-bomb", "bomb.png", lambda: png_header_only(30_000, 30_000),
         Refused(r"its header claims it is 900.0 megapixels, over the limit of 89.5 "
                 r"\(Pillow's guard against decompression bombs\): shrink or crop it first"),
         Refused(f"its header claims it is 900000000 pixels, over the limit of {APP_LIMIT}")),
    Case("decompression-bomb-warning-range", "bomb100.png", lambda: png_header_only(10_000, 10_000),
         Refused(r"10000x10000 is 100.0 megapixels, over the limit of 89.5 \(Pillow's guard"),
         Refused(f"10000x10000 is 100000000 pixels, over the limit of {APP_LIMIT}")),
    Case("animated-gif", "anim.gif", lambda: animation("GIF"),
         Upscaled((24, 20), "animated image with 3 frames: only the first frame is used", first_frame),
         Upscaled((24, 20), "animated image with 3 frames: only the first frame is used", first_frame)),
    Case("animated-webp", "anim.webp", lambda: animation("WEBP"),
         Upscaled((24, 20), "animated image with 3 frames: only the first frame is used", first_frame),
         Upscaled((24, 20), "animated image with 3 frames: only the first frame is used", first_frame)),
    Case("png-16-bit-gray", "deep.png",
         lambda: encoded(Image.fromarray((np.arange(80).reshape(8, 10) * 162.66).astype(np.uint16)), "PNG"),
         Upscaled((20, 16), "16-bit image: converted to 8 bits per channel", sixteen_bit_gray),
         Upscaled((20, 16), "16-bit image: converted to 8 bits per channel", sixteen_bit_gray)),
    Case("png-16-bit-rgb", "deep-rgb.png", png_16_bit_rgb,
         Upscaled((12, 8), "16-bit image: converted to 8 bits per channel", sixteen_bit_rgb),
         Upscaled((12, 8), "16-bit image: converted to 8 bits per channel", sixteen_bit_rgb)),
    Case("cmyk-jpeg", "print.jpg", lambda: encoded(photo().convert("CMYK"), "JPEG"),
         Upscaled((48, 32), "CMYK image: converted to RGB", rgb),
         Upscaled((48, 32), "CMYK image: converted to RGB", rgb)),
    Case("palette-with-transparency", "logo.png", palette_with_transparency,
         Upscaled((20, 16), check=transparency_kept), Upscaled((20, 16), check=transparency_kept)),
    Case("exif-rotation", "portrait.jpg", exif_rotated,
         Upscaled((48, 24), "turned upright as its EXIF orientation says", upright),
         Upscaled((48, 24), "turned upright as its EXIF orientation says", upright)),
    Case("icc-profile", "srgb.png", lambda: encoded(photo(), "PNG", icc_profile=SRGB),
         Upscaled((48, 32), check=icc_kept), Upscaled((48, 32), check=icc_kept)),
]

# Rows of the table that are not about one input file, and the test that covers each.
OTHER_ROWS = {
    "bad-scale": "test_bad_scale",
    "missing-weights": "test_weights",
    "corrupt-weights": "test_weights",
    "changed-weights": "test_weights",
    "no-image": "test_no_image",
    "same-name-inputs": "test_cli_never_writes_one_result_over_another",
    "output-folder-is-input-folder": "test_cli_never_writes_over_an_input",
    "upload-over-50-mb": "test_upload_over_50_mb_is_refused_at_once",
}


def write(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.name
    path.write_bytes(case.content())
    return path


@pytest.fixture
def decoded(monkeypatch) -> list:
    """Sizes of the images whose pixels Pillow decodes during the test (a bomb must add none)."""
    sizes = []
    load = ImageFile.ImageFile.load

    def spy(self):
        sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


@pytest.fixture
def shared_upscaler(monkeypatch, stand_in_upscaler):
    """The CLI builds an Upscaler per run; hand it the session's, already compiled (seconds saved per run)."""
    monkeypatch.setattr("fsrcnn.upscaler.Upscaler", lambda *args, **kwargs: stand_in_upscaler)


@pytest.fixture(scope="module")
def app_module():
    import app

    return app


@pytest.fixture(scope="module")
def demo(stand_in_upscaler, tmp_path_factory):
    return logic.Demo(stand_in_upscaler, max_pixels=APP_LIMIT, output_dir=tmp_path_factory.mktemp("demo-out"))


@pytest.fixture(scope="module")
def page(app_module, demo):
    import gradio as gr

    from fsrcnn.page import layout

    with gr.Blocks():
        return layout(demo)


def app_says(app_module, demo, path, scale=2, mode=logic.UPSCALE, page=None):
    """What a visitor gets: ('refused at once', message) from the check before the queue,
    ('error', message) from the request itself, or ('result', report, the full result's PNG)."""
    import gradio as gr

    from fsrcnn import events  # after app_module: app.py quiets Gradio and TensorFlow before they load

    record = {"path": str(path), "orig_name": Path(path).name} if path else None
    checks = events.validator(demo, mode)(record, scale, False)
    failed = [c["message"] for c in checks if not c["is_valid"]]
    if failed:
        return "refused at once", failed[0]
    try:
        *_, last = events.handler(page, demo, mode)(record, scale, False, progress=lambda *a, **k: None)
    except gr.Error as e:
        return "error", e.message
    download, report = last[page.download], last[page.report]
    return "result", report, download


# --- the rows about an input file --------------------------------------------------------------

# Pillow warns about the bomb in its warning range before fsrcnn.images refuses it: expected here.
QUIET = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
ROWS = [pytest.param(c, id=c.id, marks=QUIET if "bomb" in c.id else ()) for c in CASES]


@pytest.mark.parametrize("case", ROWS)
def test_cli(case, tmp_path, shared_upscaler, decoded, capsys):
    path = write(case, tmp_path / "in")
    out = tmp_path / "out"
    code = cli(["upscale", str(path), "--scale", "2", "--output", str(out)])
    printed = capsys.readouterr()
    if isinstance(case.cli, Refused):
        assert code == 1
        assert re.search(f"^error: {re.escape(str(path))}: {case.cli.message}", printed.err, re.M), printed.err
        assert "0 image(s) written" in printed.out and not list(out.iterdir())
    else:
        assert code == 0, printed.err
        # Every file also gets a note on the weights that ran (`--model auto`); the rows are about the others.
        notes = "\n".join(line for line in printed.out.splitlines()
                          if line.startswith("note:") and not re.search(r": (clean|photo) model$", line))
        if case.cli.note:
            assert re.search(f"^note: {re.escape(str(path))}: {case.cli.note}", notes, re.M), printed.out
        else:
            assert "note:" not in notes, printed.out
        with Image.open(out / f"{path.stem}.png") as result:
            assert result.format == "PNG" and result.size == case.cli.size
            if case.cli.check:
                case.cli.check(open_image(path).image, result)
    if "bomb" in case.id:
        assert decoded == [], "the bomb's pixels were decoded"


@pytest.mark.parametrize("case", ROWS)
def test_app(case, tmp_path, app_module, demo, page, decoded):
    path = write(case, tmp_path)
    answer = app_says(app_module, demo, path, mode=case.mode, page=page)
    if isinstance(case.app, Refused):
        assert answer[0] in ("refused at once", "error"), answer
        assert re.match(f"{re.escape(case.name)}: {case.app.message}", answer[1]), answer[1]
        # What the header tells is refused before the request queues; only damage inside the file waits.
        assert (answer[0] == "error") == case.id.startswith("truncated"), answer
    else:
        assert answer[0] == "result", answer
        report, panel = answer[1], answer[2]
        if case.app.note:
            assert re.search(f"^Note: {case.app.note}", report, re.M), report
        else:
            assert "Note:" not in report
        with Image.open(panel) as result:
            assert result.format == "PNG" and result.size == case.app.size
            if case.app.check:
                case.app.check(open_image(path).image, result)
    if "bomb" in case.id:
        assert decoded == [], "the bomb's pixels were decoded"


def test_library_refuses_a_bomb_in_the_warning_range_when_warnings_are_errors(tmp_path, decoded):
    """Pillow raises its DecompressionBombWarning when warnings are errors (python -W error): same message."""
    import warnings

    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(10_000, 10_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageError, match=r"100.0 megapixels, over the limit of 89.5 \(Pillow's guard"):
            open_image(path)
    assert decoded == []


def test_pillows_guard_stays_on(app_module):
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 89_478_485


# --- the other rows ----------------------------------------------------------------------------

def test_bad_scale(tmp_path, app_module, demo, capsys):
    path = write(CASES[-1], tmp_path)  # any good image
    with pytest.raises(SystemExit) as exit_:
        cli(["upscale", str(path), "--scale", "5", "--output", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert "argument --scale: invalid choice: 5 (choose from 2, 3, 4)" in capsys.readouterr().err
    for scale in (5, "x1", None):
        assert app_says(app_module, demo, path, scale) == (
            "refused at once", f"scale must be one of x2, x3, x4, got {scale!r}")


def weights_folder(kind: str, stand_in_weights: Path, folder: Path) -> Path:
    folder.mkdir()
    if kind == "corrupt-weights":
        (folder / "fsrcnn_x2.keras").write_bytes(b"PK\x03\x04 not really a zip")
    elif kind == "changed-weights":
        shutil.copy(stand_in_weights / "fsrcnn_x2.keras", folder)
        (folder / "SHA256SUMS").write_text(f"{'0' * 64}  fsrcnn_x2.keras\n")
    return folder


@pytest.mark.parametrize("kind,message", [
    # A folder of the user's own (--weights-dir): "copy it back"; for the shipped weights/ the
    # message says `git checkout -- weights/...` instead (tests/test_upscaler.py).
    ("missing-weights", r"fsrcnn_x2.keras is missing: copy it back or train "
                        r"it again \(weights/README.md gives the command\)"),
    ("corrupt-weights", r"fsrcnn_x2.keras cannot be loaded \(.*\): copy it back"),
    ("changed-weights", r"fsrcnn_x2.keras is damaged or was changed \(SHA-256 [0-9a-f]{12}\.\.\., "
                        r"SHA256SUMS records 000000000000\.\.\.\): copy it back"),
])
def test_weights(kind, message, tmp_path, stand_in_weights, app_module, capsys):
    folder = weights_folder(kind, stand_in_weights, tmp_path / "weights")
    image = write(CASES[-1], tmp_path)
    assert cli(["upscale", str(image), "--scale", "2", "--output", str(tmp_path / "out"),
                "--weights-dir", str(folder)]) == 2
    assert re.search(f"^error: weight file {re.escape(str(folder))}/{message}", capsys.readouterr().err, re.M)
    assert app_module.main(["--weights-dir", str(folder)]) == 2  # the app does not start
    assert re.search(f"^error: weight file {re.escape(str(folder))}/{message}", capsys.readouterr().err, re.M)


def test_no_image(tmp_path, shared_upscaler, app_module, demo, capsys):
    assert cli(["upscale", str(tmp_path / "holiday.jpg"), "--scale", "2", "--output", str(tmp_path / "out")]) == 1
    assert f"error: {tmp_path / 'holiday.jpg'}: no such file" in capsys.readouterr().err
    assert app_says(app_module, demo, None) == (
        "refused at once", "No image yet: upload a photo or pick one of the examples, then press the button.")


def test_cli_never_writes_one_result_over_another(tmp_path, shared_upscaler, capsys):
    first, second = write(CASES[-1], tmp_path / "a"), write(CASES[-1], tmp_path / "b")
    out = tmp_path / "out"
    assert cli(["upscale", str(first), str(second), "--scale", "2", "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"error: {second}: {out / 'srgb.png'} was already written from {first}: rename one of them" in err
    assert [p.name for p in out.iterdir()] == ["srgb.png"]


def test_cli_never_writes_over_an_input(tmp_path, shared_upscaler, capsys):
    folder = tmp_path / "photos"
    original = write(CASES[-1], folder).read_bytes()
    assert cli(["upscale", str(folder), "--scale", "2", "--output", str(folder)]) == 1
    assert f"its result {folder / 'srgb.png'} would replace an input image: choose another --output" in \
        capsys.readouterr().err
    assert (folder / "srgb.png").read_bytes() == original and len(list(folder.iterdir())) == 1


def test_upload_over_50_mb_is_refused_at_once(live_app, tmp_path):
    """The live app answers 413 to an upload over 50 MB, before reading it (see test_app_live for gradio_client)."""
    import time

    import httpx

    data = encoded(photo(), "PNG") + bytes(51 * 1024 * 1024)  # a PNG with 51 MB of trailing zeros
    start = time.monotonic()
    answer = httpx.post(live_app + "gradio_api/upload", files={"files": ("big.png", data)}, timeout=60)
    assert answer.status_code == 413 and "File size exceeded maximum allowed size of 52428800 bytes" in answer.text
    assert time.monotonic() - start < 10


# --- two rows through the live app -------------------------------------------------------------

@pytest.mark.parametrize("case_id,error", [("decompression-bomb", "ValidationError"), ("truncated-png", "AppError")])
def test_live_app(case_id, error, live_app, tmp_path):
    from gradio_client import Client, exceptions, handle_file

    case = next(c for c in CASES if c.id == case_id)
    client = Client(live_app, verbose=False, download_files=str(tmp_path / "downloads"))
    with pytest.raises(getattr(exceptions, error)) as refused:
        client.predict(handle_file(write(case, tmp_path)), 2, False, api_name="/upscale")
    # The live app has the default limit of 50 megapixels, not this module's APP_LIMIT.
    expected = {"decompression-bomb": "its header claims it is 900.0 megapixels, over the limit of 50.0",
                "truncated-png": case.app.message}[case_id]
    assert re.search(f"{re.escape(case.name)}: {expected}", str(refused.value))
    good = write(CASES[-1], tmp_path)  # and it goes on serving
    download = client.predict(handle_file(good), 2, False, api_name="/upscale")[-2]
    assert re.search(r"srgb_x2_(fsrcnn|photo)\.png$", download)  # whichever weights Auto picked


# --- the table and the tests agree -------------------------------------------------------------

def test_every_row_of_the_table_has_a_test_and_every_test_a_row():
    rows = re.findall(r"^\|[^|\n]*\| `([a-z0-9-]+)` \|", DOC.read_text(), re.M)  # the second column
    assert len(rows) == len(set(rows)), "a row id appears twice"
    assert set(rows) == {c.id for c in CASES} | set(OTHER_ROWS)
    assert all(callable(globals().get(name)) for name in OTHER_ROWS.values())
