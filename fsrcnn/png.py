"""Fast lossless PNG writing for large results, on several cores.

Pillow's PNG encoder filters every row with Paeth, which costs about as much as zlib itself,
and compresses the image as one stream on one core. Here the rows get the Up filter (one numpy
subtraction; on upscaled photos it compresses as well as Paeth), and the image is cut into bands
that are deflated on parallel threads (zlib releases the GIL) and joined into one valid zlib
stream, the way pigz does: every band but the last ends on a sync flush, and the Adler-32 of the
whole is appended. Bands are written out in order as they are done, so memory holds a few bands,
not a second copy of the image; the bands depend on the image only, so every machine writes the
same bytes. Any PNG decoder reads the result; benchmarks/png.py compares it with Pillow.
"""
import os
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}  # PNG colour types, 8 bits per channel
BAND_BYTES = 1 << 20  # rows are cut into bands of about this size: enough to keep every core busy, and
# few enough that their sync points cost nothing measurable in file size
UP = 2  # the PNG filter type: each byte minus the byte above it


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of A + B from those of A and B and the length of B (zlib's adler32_combine)."""
    base, rem = 65521, second_length % 65521
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % base
    high = ((first >> 16) + (second >> 16) + rem * (first & 0xFFFF) - rem) % base
    return low | high << 16


def _deflate_band(rows: np.ndarray, above: np.ndarray | None, level: int, last: bool) -> tuple[bytes, int, int]:
    """Up-filter `rows` (the row before them is `above`; none for the first band) and deflate them raw.

    Returns the deflated bytes, and the Adler-32 and length of the filtered bytes.
    """
    filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = UP
    filtered[0, 1:] = rows[0] if above is None else rows[0] - above
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 wraps modulo 256, as PNG wants
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = deflate.compress(filtered) + deflate.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return data, zlib.adler32(filtered), filtered.size


def png_chunks(pixels: np.ndarray, mode: str, icc_profile: bytes | None = None, level: int = 1,
               threads: int | None = None) -> Iterator[bytes]:
    """uint8 (H, W) or (H, W, C) pixels of `mode` (L, LA, RGB, RGBA) as the pieces of a PNG file, in order."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    h, w = pixels.shape[:2]
    if mode not in COLOR_TYPES or pixels.size != h * w * len(mode) or h < 1 or w < 1:
        raise ValueError(f"cannot write {pixels.shape} pixels as a PNG of mode {mode}")
    if not 0 <= level <= 9:
        raise ValueError(f"zlib level must be 0 to 9, got {level}")
    rows = pixels.reshape(h, -1)
    bands = max(1, min(h, -(-rows.nbytes // BAND_BYTES)))
    edges = [h * i // bands for i in range(bands + 1)]
    jobs = [(rows[a:b], rows[a - 1] if a else None, level, b == h) for a, b in pairwise(edges)]
    yield SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, COLOR_TYPES[mode], 0, 0, 0))
    if icc_profile:
        yield _chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile))
    adler = None
    with ThreadPoolExecutor(max(1, min(threads or os.cpu_count() or 1, bands))) as pool:
        for i, (data, band_adler, length) in enumerate(pool.map(lambda job: _deflate_band(*job), jobs)):
            adler = band_adler if adler is None else adler32_combine(adler, band_adler, length)
            if i == 0:
                data = b"\x78\x01" + data  # zlib header: deflate, 32 KiB window
            if i == bands - 1:
                data += struct.pack(">I", adler)
            yield _chunk(b"IDAT", data)
    yield _chunk(b"IEND", b"")


def encode_png(pixels: np.ndarray, mode: str, icc_profile: bytes | None = None, level: int = 1,
               threads: int | None = None) -> bytes:
    """The bytes of the PNG file of png_chunks."""
    return b"".join(png_chunks(pixels, mode, icc_profile, level, threads))


def write_png(image: Image.Image, path: str | Path, level: int = 1, threads: int | None = None) -> None:
    """A normalised PIL image (mode L, LA, RGB or RGBA) as a PNG file, with its ICC profile."""
    write_pixels(np.asarray(image), image.mode, path, image.info.get("icc_profile"), level, threads)


def write_pixels(pixels: np.ndarray, mode: str, path: str | Path, icc_profile: bytes | None = None, level: int = 1,
                 threads: int | None = None) -> None:
    """uint8 pixels of `mode` (as png_chunks takes them) as a PNG file: no PIL copy of a large image."""
    with open(path, "wb") as f:
        for piece in png_chunks(pixels, mode, icc_profile, level, threads):
            f.write(piece)
