import io

import numpy as np
import pytest
from PIL import Image

from fsrcnn.degradations import jpeg_bytes
from fsrcnn.imresize import degrade
from fsrcnn.jpeg_trace import find_trace, scaled_table
from helpers import PICTURES, synthetic_photo

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
