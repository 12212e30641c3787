"""fsrcnn/png.py: every file it writes is a valid PNG that decodes (by Pillow and by strict zlib) to
exactly the pixels given, in every mode, at every level, cut into one band or many."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from fsrcnn import png
from helpers import synthetic_photo


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC."""
    assert data[:8] == png.SIGNATURE
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        found.append((kind, body))
        pos += 12 + length
    assert pos == len(data) and found[0][0] == b"IHDR" and found[-1] == (b"IEND", b"")
    return found


def pixels_of(mode: str, h: int, w: int, seed: int = 0) -> np.ndarray:
    rgb = synthetic_photo(max(h, w), seed)[:h, :w]
    alpha = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    return {"L": rgb[..., 0], "LA": np.dstack([rgb[..., 0], alpha]), "RGB": rgb, "RGBA": np.dstack([rgb, alpha])}[mode]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("bands", [1, 3])
def test_round_trip_is_exact_in_every_mode(mode, bands, monkeypatch):
    pixels = pixels_of(mode, 37, 23)
    monkeypatch.setattr(png, "BAND_BYTES", -(-pixels.nbytes // bands))  # small images still cut into `bands` bands
    data = png.encode_png(pixels, mode, level=1, threads=2)
    found = chunks(data)
    assert sum(kind == b"IDAT" for kind, _ in found) == bands
    raw = zlib.decompress(b"".join(body for kind, body in found if kind == b"IDAT"))  # checks the Adler-32 too
    assert len(raw) == 37 * (1 + 23 * len(mode))
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == mode and im.size == (23, 37)
        assert np.array_equal(np.asarray(im), pixels)


@pytest.mark.parametrize("level", range(10))
def test_every_level_is_lossless(level):
    pixels = pixels_of("RGB", 64, 80, seed=level)
    with Image.open(io.BytesIO(png.encode_png(pixels, "RGB", level=level, threads=2))) as im:
        assert np.array_equal(np.asarray(im), pixels)


def test_higher_levels_write_smaller_files():
    pixels = np.asarray(Image.fromarray(synthetic_photo(200, 5)).resize((600, 600), Image.BICUBIC))
    sizes = [len(png.encode_png(pixels, "RGB", level=level)) for level in (0, 1, 9)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_tiny_and_thin_images(monkeypatch):
    monkeypatch.setattr(png, "BAND_BYTES", 1)
    for h, w in [(1, 1), (1, 50), (50, 1), (2, 2)]:
        pixels = pixels_of("RGBA", h, w)
        with Image.open(io.BytesIO(png.encode_png(pixels, "RGBA", threads=4))) as im:
            assert np.array_equal(np.asarray(im), pixels)


def test_icc_profile_is_kept(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.fromarray(pixels_of("RGB", 20, 30))
    image.info["icc_profile"] = icc
    png.write_png(image, tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        assert im.info["icc_profile"] == icc and np.array_equal(np.asarray(im), np.asarray(image))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mode P"):
        png.encode_png(np.zeros((4, 4), np.uint8), "P")
    with pytest.raises(ValueError, match="mode RGB"):
        png.encode_png(np.zeros((4, 4), np.uint8), "RGB")
    with pytest.raises(ValueError, match="0 to 9"):
        png.encode_png(np.zeros((4, 4), np.uint8), "L", level=10)


def test_the_bytes_do_not_depend_on_the_threads(monkeypatch):
    pixels = pixels_of("RGB", 90, 40)
    monkeypatch.setattr(png, "BAND_BYTES", 1000)
    assert len({png.encode_png(pixels, "RGB", threads=t) for t in (1, 2, 5)}) == 1


def test_write_png_streams_the_same_file(tmp_path, monkeypatch):
    pixels = pixels_of("RGBA", 60, 50)
    monkeypatch.setattr(png, "BAND_BYTES", 3000)
    png.write_png(Image.fromarray(pixels), tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes() == png.encode_png(pixels, "RGBA")


def test_adler32_combine_matches_zlib():
    rng = np.random.default_rng(0)
    for first, second in [(0, 0), (1, 0), (0, 70000), (65521, 65521), (100000, 300000)]:
        a, b = rng.bytes(first), rng.bytes(second)
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    ones = b"\xff" * 200000  # sums close to the modulus
    assert png.adler32_combine(zlib.adler32(ones), zlib.adler32(ones), len(ones)) == zlib.adler32(ones * 2)
