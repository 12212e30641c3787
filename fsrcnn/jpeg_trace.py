"""Whether the pixels of a lossless file were once a JPEG, and at what quality.

A JPEG stores each 8x8 block of luma as DCT coefficients rounded to multiples of a step per
frequency (its quantization table). Decoding and saving the pixels losslessly keeps that trace:
on the right 8-pixel grid, each frequency's coefficients still sit on multiples of its step, up
to the rounding of the decoded pixels. Pictures that never were JPEGs do not: a photo's
coefficients spread evenly; line art, screentone, pixel art and screenshots have sharp edges and
flat areas that make steps *between* blocks (which fooled a block-edge detector), but not
coefficients on a lattice *inside* them.

`find_trace` checks that lattice frequency by frequency: a frequency counts when its nonzero
coefficients line up on multiples of one step of 3 or more (smaller steps drown in the rounding
of decoded pixels) and take at least MIN_LEVELS different multiples (a picture of few shapes
repeats a few coefficient values, which line up on anything). The steps found give the quality,
as a JPEG header's table does (`fit_quality`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 8
MAX_BLOCKS = 4096  # blocks looked at (spread over the image): the evidence saturates long before
MIN_SAMPLES = 24  # distinct nonzero coefficients a frequency needs before its lattice is judged
MAX_VALUES = 2048  # distinct values judged per frequency
MIN_LEVELS = 3  # different multiples of the step among them
LATTICE = 0.8  # mean of cos(2 pi c / step): 1 on the lattice, 0 for values spread evenly
STEPS = np.arange(3, 65)
MIN_FREQUENCIES = 4  # frequencies on a lattice for the trace to count

# Annex K example tables (natural order, as Pillow's `quantization` gives them).
LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)


def scaled_table(quality: int, base: np.ndarray = LUMA_TABLE) -> np.ndarray:
    """libjpeg's jpeg_quality_scaling: the table a given quality (1..100) writes."""
    quality = min(max(int(quality), 1), 100)
    factor = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((base * factor + 50) / 100), 1, 255)


def fit_quality(index: np.ndarray, steps: np.ndarray) -> int:
    """The libjpeg quality whose luma table is nearest to `steps` at natural-order positions `index`."""
    steps = np.asarray(steps, np.float64)
    errors = [np.abs(np.log(scaled_table(q)[index]) - np.log(steps)).sum() for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


@dataclass(frozen=True)
class Trace:
    offset: tuple[int, int]  # where the 8x8 grid lies (rows, columns)
    steps: dict[int, int]  # natural-order frequency index -> step found
    quality: int  # the libjpeg quality whose table fits the steps best


def _dct_matrix(n: int = BLOCK) -> np.ndarray:
    """The orthonormal DCT-II, which is JPEG's forward DCT."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    m = np.sqrt(2 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0] /= np.sqrt(2)
    return m


_DCT = _dct_matrix()


def _blocks(y: np.ndarray, oy: int, ox: int, stride: int) -> np.ndarray:
    """(n, 64) DCT coefficients of every `stride`-th 8x8 block of the grid at offset (oy, ox)."""
    h, w = (y.shape[0] - oy) // BLOCK, (y.shape[1] - ox) // BLOCK
    tiles = y[oy : oy + h * BLOCK, ox : ox + w * BLOCK].reshape(h, BLOCK, w, BLOCK).transpose(0, 2, 1, 3)
    tiles = tiles[::stride, ::stride].reshape(-1, BLOCK, BLOCK)
    return (_DCT @ (tiles - 128.0) @ _DCT.T).reshape(-1, BLOCK * BLOCK)


def _grid_offset(y: np.ndarray, stride: int) -> tuple[int, int]:
    """The grid offset whose blocks have the most AC coefficients near zero (quantized away)."""
    best, offset = -1.0, (0, 0)
    for oy in range(BLOCK):
        for ox in range(BLOCK):
            ac = _blocks(y, oy, ox, stride)[:, 1:]
            near_zero = float(np.mean(np.abs(ac) < 0.75))
            if near_zero > best:
                best, offset = near_zero, (oy, ox)
    return offset


def _step(c: np.ndarray) -> int | None:
    """The largest step whose multiples hold the coefficients `c`, or None.

    Each distinct value counts once: a picture of a few repeated shapes (screentone, hatching)
    repeats a few coefficient values thousands of times, and a few values line up on some step
    by chance; a decoded JPEG's values differ block to block by the rounding of its pixels.
    """
    c = np.unique(np.round(c, 3))
    c = c[np.abs(c) >= STEPS[0] / 2]  # coefficients quantized to zero carry no evidence
    if c.size < MIN_SAMPLES:
        return None
    c = c[:: max(1, c.size // MAX_VALUES)]
    used = np.abs(c)[:, None] >= STEPS[None] / 2
    count = used.sum(axis=0)
    score = (np.cos(2 * np.pi * c[:, None] / STEPS[None]) * used).sum(axis=0) / np.maximum(count, 1)
    for i in np.flatnonzero((count >= MIN_SAMPLES) & (score >= LATTICE))[::-1]:
        levels = np.unique(np.rint(np.abs(c[used[:, i]]) / STEPS[i]))
        if levels.size >= MIN_LEVELS:
            return int(STEPS[i])
    return None


def find_trace(y: np.ndarray) -> Trace | None:
    """The JPEG trace in a luma plane (0..255, JFIF's Y), or None where there is none."""
    y = np.asarray(y, np.float64)
    if min(y.shape) < 4 * BLOCK:
        return None
    blocks = (y.shape[0] // BLOCK) * (y.shape[1] // BLOCK)
    stride = max(1, int(np.ceil(np.sqrt(blocks / MAX_BLOCKS))))
    oy, ox = _grid_offset(y, stride)
    coefficients = _blocks(y, oy, ox, stride)
    steps = {f: s for f in range(1, BLOCK * BLOCK) if (s := _step(coefficients[:, f])) is not None}
    if len(steps) < MIN_FREQUENCIES:
        return None
    return Trace((oy, ox), steps, fit_quality(np.array(list(steps)), np.array(list(steps.values()))))
