"""The result file (fsrcnn.output): options, sizes, formats, and the write as one pure step."""
import numpy as np
import pytest
from PIL import Image

from fsrcnn import output
from fsrcnn.output import Options
from helpers import synthetic_photo


def test_options_are_checked_and_named():
    assert Options().name == "PNG" and Options("WEBP").name == "WebP (lossless)"
    assert Options("jpg").format == "jpeg" and Options("jpeg").name == "JPEG (quality 90)"
    assert Options("webp", 70).name == "WebP (quality 70)" and not Options("webp", 70).lossless
    for bad, message in [(dict(format="gif"), "format must be one of"), (dict(quality=80), "PNG is lossless"),
                         (dict(format="jpeg", quality=101), "quality must be 1 to 100"),
                         (dict(width=0), "width must be at least 1")]:
        with pytest.raises(ValueError, match=message):
            Options(**bad)


def test_a_size_is_reached_by_the_smallest_scale_at_or_above_it():
    assert Options(width=3840).size_for((1920, 1080)) == (3840, 2160)
    assert Options(height=500).size_for((400, 200)) == (1000, 500)
    assert Options(width=3840).scale_for((1920, 1080), (2, 3, 4)) == 2
    assert Options(width=3841).scale_for((1920, 1080), (2, 3, 4)) == 3
    assert Options(width=100, height=400).scale_for((100, 100), (2, 3, 4)) == 4
    assert Options().scale_for((10, 10), (2, 3, 4), 3) == 3
    with pytest.raises(ValueError, match="more than x4"):
        Options(width=401).scale_for((100, 100), (2, 3, 4))


def test_formats_refuse_what_they_cannot_hold():
    Options("webp").check_mode("RGBA", (16383, 100))
    with pytest.raises(ValueError, match="WebP holds at most 16383"):
        Options("webp").check_mode("RGB", (16384, 100))
    with pytest.raises(ValueError, match="JPEG has no transparency"):
        Options("jpeg").check_mode("LA")


def test_write_takes_pixels_or_an_image_and_leaves_no_partial_file(tmp_path):
    rgb = synthetic_photo(40)
    icc = b"\0" * 128  # any bytes: the writer copies the profile, it does not read it
    for options in (Options(), Options("webp"), Options("jpeg", 95), Options(width=30)):
        a, b = tmp_path / f"a{options.suffix}", tmp_path / f"b{options.suffix}"
        image = Image.fromarray(rgb)
        image.info["icc_profile"] = icc
        size = options.size_for((40, 40))
        assert output.write(rgb, a, options, "RGB", icc) == output.write(image, b, options) == size
        assert a.read_bytes() == b.read_bytes()
        with Image.open(a) as im:
            assert im.info.get("icc_profile") == icc
    assert not list(tmp_path.glob(".*.part"))
    with pytest.raises(ValueError, match="JPEG has no transparency"):
        output.write(np.zeros((4, 4, 4), np.uint8), tmp_path / "c.jpg", Options("jpeg"), "RGBA")
    assert not (tmp_path / "c.jpg").exists() and not list(tmp_path.glob(".*.part"))
