"""Tile programs: one file per engine, all behind one interface.

An engine module defines `Program(weights, scale, tta, kind, *, device, streams, threads=None)`:
a callable that takes one margin-padded tile, a (1, h, w, c) float32 NHWC block, and returns
the upscaled tile as numpy, with a `release_memory()` that frees its working buffers; `threads`
is how many CPU threads it may use (default: every core). Every engine computes the same thing,
described once here:

  planes of the block   Y (0..1) first, then Cb, Cr (0..255) for colour, then alpha (0..255)
  luma                  FSRCNN on Y (weights.Weights), or the mean over the self-ensemble's
                        views (ensemble.GROUPS: two batches of four views)
  kind 'luma'           that luma, (scale*h, scale*w) float32, not clipped
  other kinds           colour = color.display_map(kind) applied to (255 * luma, bicubic Cb, Cr),
                        alpha by bicubic (imresize.upscale_kernel), then color.to_uint8 rounding

fsrcnn/reference.py computes the same on whole images in plain numpy and Keras; the tests hold
every engine to it. Adding an engine (TensorRT, ...) is one new module here and one
line in ENGINES (fsrcnn/engines/onnxruntime.py is one).
"""
import importlib
from dataclasses import dataclass

import numpy as np

from ..color import display_map

# name -> (display name, the package it needs); the module is fsrcnn/engines/<name>.py.
ENGINES = {"openvino": ("OpenVINO", "openvino"), "xla": ("XLA", "tensorflow"),
           "onnxruntime": ("ONNX Runtime", "onnxruntime")}
ENGINE_HELP = "what runs the network (same result); default: OpenVINO on the CPU when installed, else XLA"
# Planes per block for each kind of output.
CHANNELS = {"luma": 1, "gray": 1, "rgb": 3, "rgba": 4}
LUMA_RANGE = 255.0  # the network's luma is 0..1; colour conversion works on 0..255


@dataclass(frozen=True)
class Plan:
    """What a tile program of one kind computes after the network (see the module docstring)."""

    kind: str
    channels: int  # planes in the block
    colour: tuple[np.ndarray, np.ndarray] | None  # (matrix, offset) of color.display_map; None: luma out
    alpha: bool  # the last plane is alpha

    @property
    def chroma(self) -> int:
        """How many planes after Y enter the colour conversion (Cb, Cr for colour images)."""
        return 0 if self.colour is None else self.colour[0].shape[1] - 1


def plan(kind: str) -> Plan:
    if kind not in CHANNELS:
        raise ValueError(f"unknown kind {kind!r}: use {', '.join(CHANNELS)}")
    return Plan(kind, CHANNELS[kind], None if kind == "luma" else display_map(kind), kind == "rgba")


def load(name: str):
    """The Program class of engine `name` (imports its package: TensorFlow for 'xla')."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: use {' or '.join(ENGINES)}")
    return importlib.import_module(f"{__name__}.{name}").Program


def installed(name: str) -> bool:
    """Whether the package behind engine `name` can be imported."""
    try:
        importlib.import_module(ENGINES[name][1])
    except ImportError:
        return False
    return True
