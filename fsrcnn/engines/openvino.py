"""The tile program compiled by OpenVINO: the default engine on the CPU.

OpenVINO's CPU convolution kernels suit FSRCNN's small layers (one to 56 channels) better than
XLA's (benchmarks/speed.py compares the two). The program is one OpenVINO model with dynamic
height and width, built from the numpy weights (weights.read_weights), so this path never
imports TensorFlow.
"""
import queue

import numpy as np
import openvino as ov
import openvino.opset13 as op

from ..ensemble import DIHEDRAL, GROUPS
from ..imresize import upscale_kernel
from ..weights import Weights
from . import LUMA_RANGE, plan

_LAST = np.iinfo(np.int64).min  # slice stop that runs a negative step to the start


def _const(x, dtype=np.float32):
    return op.constant(np.array(x, dtype))  # a copy: contiguous, scalars stay 0-d


def _conv(x, kernel_hwio, bias=None, pad_begin=0, pad_end=0):
    """Cross-correlation with a TensorFlow (h, w, in, out) kernel, zero padding as given."""
    weights = _const(np.transpose(kernel_hwio, (3, 2, 0, 1)))
    x = op.convolution(x, weights, [1, 1], [pad_begin] * 2, [pad_end] * 2, [1, 1])
    return x if bias is None else op.add(x, _const(np.reshape(bias, (1, -1, 1, 1))))


def _planes(x, start, stop):
    """Channels start:stop of an NCHW tensor."""
    return op.slice(x, np.array([start]), np.array([stop]), np.array([1]), np.array([1]))


def _swap_hw(x):
    return op.transpose(x, _const([0, 1, 3, 2], np.int64))


def _flip_h(x):
    return op.slice(x, np.array([-1]), np.array([_LAST]), np.array([-1]), np.array([2]))


def _flip_w(x):
    # A gather: OpenVINO's negative-step slice is slow on the innermost axis (5x here).
    w = op.gather(op.shape_of(x), _const(3, np.int64), _const(0, np.int64))
    reversed_index = op.range(op.subtract(w, _const(1, np.int64)), _const(-1, np.int64), _const(-1, np.int64), "i64")
    return op.gather(x, reversed_index, _const(3, np.int64))


def _rot90(x, k: int):
    """np.rot90(x, k, axes=(2, 3)) for NCHW tensors, with as few flips of W as possible."""
    k %= 4
    if k == 1:
        return _flip_h(_swap_hw(x))
    if k == 2:
        return _flip_h(_flip_w(x))
    if k == 3:
        return _swap_hw(_flip_h(x))
    return x


def _network_phases(weights: Weights, x):
    """FSRCNN on NCHW luma in its sub-pixel form (model.subpixel_kernel), left as (n, r*r, h, w)
    phases: channel py*r + px holds HR pixel (r*i + py, r*j + px) at LR position (i, j)."""
    for kernel, bias, alpha in weights.convs:
        x = _conv(x, kernel, bias, kernel.shape[0] // 2, kernel.shape[0] // 2)
        x = op.prelu(x, _const(alpha.reshape(-1, 1, 1)))
    r, (low, high) = weights.scale, weights.taps
    return _conv(x, weights.subpixel(), np.full(r * r, weights.deconv_bias), -low, high)


def _to_phases(hr, r: int):
    """(1, 1, r*h, r*w) HR plane -> (1, r*r, h, w) phases, channel py*r + px."""
    return op.space_to_depth(hr, "blocks_first", r)


def _split_phases(phases, r: int, channels: int):
    """(1, channels*r*r, h, w), channel c*r*r + py*r + px -> (1, channels, r, r, h, w)."""
    shape = op.shape_of(phases)
    hw = op.gather(shape, _const([2, 3], np.int64), _const(0, np.int64))
    return op.reshape(phases, op.concat([_const([1, channels, r, r], np.int64), hw], 0), special_zero=False)


def _to_image(phases6):
    """(1, c, r, r, h, w) phases -> (1, r*h, r*w, c) NHWC image, in one transpose."""
    x = op.transpose(phases6, _const([0, 4, 2, 5, 3, 1], np.int64))
    shape = op.shape_of(x)  # (1, h, r, w, r, c)
    dims = [op.gather(shape, _const([i], np.int64), _const(0, np.int64)) for i in range(6)]
    hr = [op.multiply(dims[1], dims[2]), op.multiply(dims[3], dims[4])]
    return op.reshape(x, op.concat([dims[0], *hr, dims[5]], 0), special_zero=False)


def _self_ensemble(weights: Weights, x):
    """Mean over the 8 symmetries as an HR image (1, 1, r*h, r*w); views of one shape run as
    one batch (ensemble.GROUPS)."""
    r, total = weights.scale, None
    for group in GROUPS:
        views = [_rot90(_swap_hw(x) if t[0] else x, t[1]) for t in group]
        out = op.depth_to_space(_network_phases(weights, op.concat(views, 0)), "blocks_first", r)
        for i, (transpose, k) in enumerate(group):
            undone = _rot90(op.slice(out, np.array([i]), np.array([i + 1]), np.array([1]), np.array([0])), -k)
            undone = _swap_hw(undone) if transpose else undone
            total = undone if total is None else op.add(total, undone)
    return op.multiply(total, _const(1.0 / len(DIHEDRAL)))


def _bicubic_phases(planes, scale: int, mix: np.ndarray):
    """MATLAB bicubic of (1, c, h, w) planes, mixed: output channel o*r*r + phase is
    sum over c of mix[o, c] * (plane c enlarged), as (1, len(mix)*r*r, h, w) phases."""
    kernel, reach = upscale_kernel(scale)  # (k, k, 1, r*r)
    mixed = np.einsum("oc,abp->abcop", mix, kernel[:, :, 0, :]).reshape(*kernel.shape[:2], mix.shape[1], -1)
    x = op.pad(planes, np.array([0, 0, reach, reach]), np.array([0, 0, reach, reach]), "symmetric")
    return _conv(x, mixed)


def _uint8(x):
    """As color.to_uint8: clip, then round half away from zero (= up, once non-negative)."""
    return op.convert(op.round(op.clamp(x, 0.0, 255.0), "half_away_from_zero"), "u8")


def _folded(p, r: int):
    """color.display_map as gain, constant and mix per output channel o:
    out[o] = gain[o] * y + const[o] + mix[o] . (other planes, enlarged), with y the network's
    0..1 luma. Alpha is one more output channel that copies its plane."""
    matrix, offset = p.colour
    gain, const, mix = LUMA_RANGE * matrix[:, 0], -(matrix @ offset), matrix[:, 1:]
    if p.alpha:
        gain, const = np.r_[gain, 0.0], np.r_[const, 0.0]
        mix = np.block([[mix, np.zeros((len(mix), 1))], [np.zeros((1, mix.shape[1])), np.ones((1, 1))]])
    return gain, const, mix if mix.size else None


class Program:
    """One tile program (see fsrcnn/engines/__init__.py): (1, h, w, c) float32 block in, numpy out.

    One program with dynamic height and width serves every block, so a new photo size never
    waits for a compilation, and every block is computed by the same kernels: a copy compiled for
    the full tiles' static shape ran a little faster but rounded a few values differently, and
    then a crop of a photo was not exactly the same pixels as the whole result. `streams`: tiles
    in flight; `threads`: CPU threads for them all (default: every core). OpenVINO runs on the CPU only,
    so `device` must be the CPU.
    """

    def __init__(self, weights: Weights, scale: int, tta: bool, kind: str, *, device: str = "/CPU:0",
                 streams: int = 1, threads: int | None = None):
        if weights.scale != scale:
            raise ValueError(f"weights for x{weights.scale}, program for x{scale}")
        if "CPU" not in device.upper():
            raise ValueError("the OpenVINO engine runs on the CPU only")
        p, r = plan(kind), scale
        channels = p.channels
        block = op.parameter(ov.PartialShape([1, -1, -1, channels]), ov.Type.f32, name="block")
        x = op.transpose(block, _const([0, 3, 1, 2], np.int64))
        luma = _planes(x, 0, 1)
        y = _to_phases(_self_ensemble(weights, luma), r) if tta else _network_phases(weights, luma)
        y = _split_phases(y, r, 1)
        # Colour is done on the LR grid of phases, and the HR image is formed by one final
        # transpose: far cheaper than converting and rounding after depth_to_space.
        if p.colour is None:
            out = _to_image(y)
        else:
            # The colour map and the bicubic of the other planes fold into one convolution of
            # the LR planes (_bicubic_phases), added to the scaled luma.
            gain, const, mix = _folded(p, r)
            column = lambda v: _const(np.reshape(v, (1, -1, 1, 1, 1, 1)))  # noqa: E731
            out = op.add(op.multiply(y, column(gain)), column(const))
            if mix is not None:
                out = op.add(out, _split_phases(_bicubic_phases(_planes(x, 1, channels), r, mix), r, len(mix)))
            out = _to_image(_uint8(out))
        # One stream per tile in flight. The default is one, with every core on it (LATENCY):
        # on 2 cores, one 512 tile at a time beat two smaller tiles with a core each
        # (THROUGHPUT), which pay more for their margins. f32: exactly the trained weights.
        hint = "THROUGHPUT" if streams > 1 else "LATENCY"
        config = {"PERFORMANCE_HINT": hint, "NUM_STREAMS": max(1, streams), "INFERENCE_PRECISION_HINT": "f32"}
        if threads:  # the CPUs this process was given (a Ray actor's), not every core of the machine
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self._compiled = ov.Core().compile_model(ov.Model([out], [block]), "CPU", config)
        # An infer request serves one call at a time; idle ones are reused.
        self._idle = queue.SimpleQueue()

    def release_memory(self) -> None:
        """Free OpenVINO's intermediate buffers; the next block allocates what it needs again."""
        self._compiled.release_memory()

    def __call__(self, block: np.ndarray) -> np.ndarray:
        try:
            request = self._idle.get_nowait()
        except queue.Empty:
            request = self._compiled.create_infer_request()
        try:
            out = request.infer({0: np.ascontiguousarray(block, np.float32)}, share_inputs=True)[0][0]
        finally:
            self._idle.put(request)  # the result is a copy (share_outputs is off)
        return out[..., 0] if out.shape[-1] == 1 else out
