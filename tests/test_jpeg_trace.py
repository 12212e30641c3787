import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fsrcnn.degradations import jpeg_bytes
from fsrcnn.imresize import degrade
from fsrcnn.jpeg_trace import find_trace, scaled_table
from helpers import synthetic_photo


def line_art(n=384, seed=0):
    """Black strokes on white, with comic panel borders on the 8-pixel grid."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (n, n), 255)
    draw = ImageDraw.Draw(im)
    for _ in range(50):
        draw.line(tuple(int(v) for v in rng.integers(0, n, 4)), fill=0, width=int(rng.integers(1, 5)))
    for x, y in rng.integers(0, n - 80, (12, 2)):
        draw.ellipse((int(x), int(y), int(x) + 70, int(y) + 50), outline=0, width=2)
    for k in range(0, n, 128):
        draw.rectangle((k, 0, k + 3, n), fill=0)
        draw.rectangle((0, k, n, k + 3), fill=0)
    return np.asarray(im)


def screentone(n=384, period=6):
    """A manga screentone (dots of one period) beside hatching on the 8-pixel grid."""
    yy, xx = np.mgrid[:n, :n]
    dots = (yy % period - period / 2) ** 2 + (xx % period - period / 2) ** 2 < (period / 3) ** 2
    tone = np.where(dots, 40, 230)
    hatching = np.where((yy + xx) % 8 < 2, 0, 255)
    return np.where(xx < n // 2, tone, hatching).astype(np.uint8)


def pixel_art(n=384, cell=8, seed=1):
    """Sprites of a small palette, enlarged by an integer factor with nearest neighbours."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (6, 3)).astype(np.uint8)
    return np.kron(palette[rng.integers(0, 6, (n // cell, n // cell))], np.ones((cell, cell, 1), np.uint8))


def screenshot(n=384):
    """Text, buttons and rules of a user interface."""
    im = Image.new("RGB", (n, n), (240, 240, 240))
    draw = ImageDraw.Draw(im)
    for row in range(0, n, 24):
        draw.text((8, row + 4), "File  Edit  View  The quick brown fox 0123456789", fill=(20, 20, 20))
        draw.rectangle((n - 110, row + 2, n - 16, row + 20), outline=(0, 90, 200), fill=(200, 220, 255))
        draw.line((0, row, n, row), fill=(180, 180, 180))
    return np.asarray(im)


PICTURES = {
    "line art": line_art,
    "screentone": screentone,
    "screentone, period 5": lambda: screentone(period=5),
    "pixel art x8": pixel_art,
    "pixel art x4": lambda: pixel_art(cell=4),
    "pixel art x3": lambda: pixel_art(cell=3),
    "screenshot": screenshot,
}
PHOTO = degrade(synthetic_photo(384, seed=5), 2)


def luma(img):
    img = np.asarray(img, np.float64)
    return img if img.ndim == 2 else img[..., :3] @ np.array([0.299, 0.587, 0.114])


def decoded(img, quality):
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(img, quality))))


def test_the_quality_scaling_is_libjpegs():
    # Pillow's libjpeg is the independent reference: its luma table at each quality.
    for q in (5, 25, 50, 72, 90, 100):
        written = Image.open(io.BytesIO(jpeg_bytes(PHOTO, q))).quantization[0]
        np.testing.assert_array_equal(scaled_table(q), np.asarray(written))


def test_photos_that_never_were_jpegs_have_no_trace():
    assert find_trace(luma(PHOTO)) is None
    assert find_trace(luma(synthetic_photo(256, seed=2))) is None


@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_a_decoded_jpeg_shows_its_quality_wherever_the_grid_lies(quality):
    pixels = decoded(PHOTO, quality)
    for dy, dx in ((0, 0), (3, 5), (7, 1)):  # a crop moves the grid
        trace = find_trace(luma(pixels[dy:, dx:]))
        assert trace is not None and abs(trace.quality - quality) <= 3, (dy, dx, trace)
        assert trace.offset == ((8 - dy) % 8, (8 - dx) % 8)


@pytest.mark.parametrize("kind", sorted(PICTURES))
def test_sharp_pictures_on_an_8_pixel_grid_are_not_jpegs(kind):
    assert find_trace(luma(PICTURES[kind]())) is None


@pytest.mark.parametrize("kind", ["screenshot", "pixel art x3"])
def test_such_pictures_saved_as_jpegs_are_found(kind):
    trace = find_trace(luma(decoded(PICTURES[kind](), 75)))
    assert trace is not None and abs(trace.quality - 75) <= 3


def test_small_images_have_no_trace():
    assert find_trace(luma(decoded(PHOTO, 50))[:24, :24]) is None
