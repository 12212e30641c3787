"""The app's input checks (fsrcnn.checks), met through Demo.start as a request meets them."""
import io

import numpy as np
import pytest
from PIL import Image

from fsrcnn import demo as logic
from fsrcnn.images import ImageError
from helpers import synthetic_photo, write


def test_compare_refuses_images_too_small_to_measure(demo, tmp_path):
    with pytest.raises(logic.InputError, match="too small to measure at x4"):
        demo.start(logic.COMPARE, write(tmp_path, synthetic_photo(18)), 4)


def test_missing_image_is_explained(demo):
    for nothing in (None, "", "  "):
        with pytest.raises(logic.InputError, match="upload a photo or pick one of the examples"):
            demo.start(logic.UPSCALE, nothing, 2)


@pytest.mark.parametrize("content,message", [
    (b"just some text, not pixels", "not an image file"),
    (None, "damaged or truncated"),  # a real PNG cut in half
])
def test_broken_files_are_explained_by_name(demo, tmp_path, content, message):
    if content is None:
        buf = io.BytesIO()
        Image.fromarray(synthetic_photo(64)).save(buf, format="PNG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    (tmp_path / "holiday.png").write_bytes(content)
    for mode in (logic.UPSCALE, logic.COMPARE):
        with pytest.raises(ImageError, match=message) as err:
            demo.start(mode, str(tmp_path / "holiday.png"), 2)
        assert str(err.value).startswith("holiday.png: ")  # the visitor's name for it, not a temp path


def test_pixel_limit(stand_in_upscaler, tmp_path):
    demo = logic.Demo(stand_in_upscaler, max_pixels=50 * 50, output_dir=tmp_path / "out")
    with pytest.raises(ImageError, match="over the limit of"):
        demo.start(logic.UPSCALE, write(tmp_path, np.zeros((51, 50, 3), np.uint8)), 2)
    assert demo.start(logic.UPSCALE, write(tmp_path, np.zeros((50, 50, 3), np.uint8)), 2).out_size == (100, 100)
    assert logic.DEFAULT_MAX_PIXELS >= 50_000_000  # what a camera makes, not one megapixel


@pytest.mark.parametrize("scale,value", [(2, 2), ("3", 3), ("x4", 4), (2.0, 2)])
def test_scale_from_forms_and_clients(demo, tmp_path, scale, value):
    assert demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(8)), scale).scale == value


@pytest.mark.parametrize("scale", [5, 1, 2.5, "x", None, float("nan")])
def test_bad_scale_is_explained(demo, tmp_path, scale):
    with pytest.raises(logic.InputError, match="scale must be one of x2, x3, x4"):
        demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(8)), scale)


def test_bad_degradation_and_mode_are_explained(demo, tmp_path):
    with pytest.raises(logic.InputError, match="degradation must be one of none, jpeg90"):
        demo.checks.degradation("blur9")
    assert demo.checks.degradation("none") == demo.checks.degradation(None) == ""
    with pytest.raises(logic.InputError, match="unknown mode"):
        demo.start("sharpen", None, 2)
