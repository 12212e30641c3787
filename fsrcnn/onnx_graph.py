"""FSRCNN as ONNX graphs, built from the numpy weights (weights.Weights) with `onnx.helper`.

Three graphs share the pieces below:
- `tile_program`: the engines' tile program (fsrcnn/engines/__init__.py describes it), NHWC
  block in; the ONNX Runtime engine runs it;
- `luma_model`: the exported luma network, NCHW (1, 1, H, W) Y in 0..1 in, (1, 1, sH, sW) out,
  mirror-padded inside (as model.luma_forward), so a whole plane gives the reference result;
- `rgb_model`: the exported "RGB in, RGB out" file, uint8 (H, W, 3) in and (sH, sW, 3) out, with
  the BT.601 colour conversion, MATLAB-bicubic chroma and rounding inside (as reference.upscale_array).

The network is the sub-pixel form of model.subpixel_kernel (the deconvolution as a small conv and
DepthToSpace), as the other engines run it. Only standard ops of opset 13 (Conv, PRelu, Slice,
Concat, DepthToSpace, ...): mirror padding is Slice with step -1 and Concat, since ONNX's Pad has
no 'symmetric' mode (its 'reflect' skips the edge pixel, numpy's 'reflect' and not 'symmetric').
The exported files (luma_model, rgb_model) use no negative Slice step, which OpenCV 4 cannot read;
the engine's self-ensemble flips with one.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .color import rgb_to_ycbcr
from .ensemble import DIHEDRAL, GROUPS
from .imresize import upscale_kernel
from .weights import Weights

OPSET = 13
LUMA_RANGE = 255.0  # the network's luma is 0..1; colour works on 0..255
_FIRST = np.iinfo(np.int64).min  # Slice end that runs a negative step through index 0
_LAST = np.iinfo(np.int64).max  # Slice end: to the last index


class Graph:
    """Nodes and constants of one ONNX graph; every method returns the name of its output."""

    def __init__(self):
        self.nodes, self.constants, self._count = [], [], 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value, dtype=np.float32) -> str:
        name = self._name("c")
        self.constants.append(numpy_helper.from_array(np.array(value, dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        out = self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def slice(self, x: str, start: int, end: int, axis: int, step: int = 1) -> str:
        return self.op("Slice", x, *(self.const([v], np.int64) for v in (start, end, axis, step)))

    def model(self, inputs, output: str, output_info, doc: str) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], [output_info.name]))
        graph = helper.make_graph(self.nodes, "fsrcnn", inputs, [output_info], self.constants)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fsrcnn",
                                  doc_string=doc)
        model.ir_version = 8  # what ONNX Runtime, OpenVINO and OpenCV 4.x all read
        onnx.checker.check_model(model, full_check=True)
        return model


def _conv(g: Graph, x: str, kernel_hwio: np.ndarray, bias=None, begin: int = 0, end: int = 0) -> str:
    """Cross-correlation with a TensorFlow (h, w, in, out) kernel, zero padding as given."""
    inputs = [x, g.const(np.transpose(kernel_hwio, (3, 2, 0, 1)))] + ([] if bias is None else [g.const(bias)])
    return g.op("Conv", *inputs, pads=[begin, begin, end, end])


def network(g: Graph, weights: Weights, x: str) -> str:
    """FSRCNN on (n, 1, h, w) luma, 'same' zero padding as the Keras model: (n, 1, r*h, r*w)."""
    for kernel, bias, alpha in weights.convs:
        x = _conv(g, x, kernel, bias, kernel.shape[0] // 2, kernel.shape[0] // 2)
        x = g.op("PRelu", x, g.const(alpha.reshape(-1, 1, 1)))
    r, (low, high) = weights.scale, weights.taps
    phases = _conv(g, x, weights.subpixel(), np.full(r * r, weights.deconv_bias, np.float32), -low, high)
    return g.op("DepthToSpace", phases, blocksize=r, mode="DCR")  # channel py*r + px, as TF's depth_to_space


def flip(g: Graph, x: str, axis: int) -> str:
    return g.slice(x, -1, _FIRST, axis, -1)


def symmetric_pad(g: Graph, x: str, p: int, axes=(2, 3)) -> str:
    """numpy.pad(mode='symmetric') by p on each of `axes` (the edge pixel repeated); needs sides >= p.

    Built from one-pixel slices in mirrored order, not from a reversed slice: OpenCV 4's ONNX
    importer takes no negative Slice steps."""
    for axis in axes:
        head = [g.slice(x, i, i + 1, axis) for i in reversed(range(p))]  # rows p-1 .. 0
        tail = [g.slice(x, -i - 1, -i if i else _LAST, axis) for i in range(p)]  # rows n-1 .. n-p
        x = g.op("Concat", *head, x, *tail, axis=axis)
    return x


def crop(g: Graph, x: str, c: int, axes=(2, 3)) -> str:
    for axis in axes:
        x = g.slice(x, c, -c, axis)
    return x


def _swap_hw(g: Graph, x: str) -> str:
    return g.op("Transpose", x, perm=[0, 1, 3, 2])


def _rot90(g: Graph, x: str, k: int) -> str:
    """np.rot90(x, k, axes=(2, 3)) for NCHW tensors."""
    k %= 4
    if k == 1:
        return flip(g, _swap_hw(g, x), 2)
    if k == 2:
        return flip(g, flip(g, x, 3), 2)
    if k == 3:
        return _swap_hw(g, flip(g, x, 2))
    return x


def self_ensemble(g: Graph, weights: Weights, x: str) -> str:
    """Mean over the 8 symmetries (ensemble.DIHEDRAL); views of one shape run as one batch."""
    total = None
    for group in GROUPS:
        views = [_rot90(g, _swap_hw(g, x) if transpose else x, k) for transpose, k in group]
        out = network(g, weights, g.op("Concat", *views, axis=0))
        for i, (transpose, k) in enumerate(group):
            undone = _rot90(g, g.slice(out, i, i + 1, 0), -k)
            undone = _swap_hw(g, undone) if transpose else undone
            total = undone if total is None else g.op("Add", total, undone)
    return g.op("Mul", total, g.const(1.0 / len(DIHEDRAL)))


def luma(g: Graph, weights: Weights, x: str, tta: bool) -> str:
    return self_ensemble(g, weights, x) if tta else network(g, weights, x)


def colour_map(matrix: np.ndarray, offset: np.ndarray, alpha: bool):
    """color.display_map as gain, constant and mix per output channel o:
    out[o] = gain[o] * y + const[o] + mix[o] . (the other planes, enlarged), y the 0..1 luma.
    Alpha is one more output channel that copies its plane."""
    matrix, offset = np.asarray(matrix, np.float64), np.asarray(offset, np.float64)
    gain, const, mix = LUMA_RANGE * matrix[:, 0], -(matrix @ offset), matrix[:, 1:]
    if alpha:
        gain, const = np.r_[gain, 0.0], np.r_[const, 0.0]
        mix = np.block([[mix, np.zeros((len(mix), 1))], [np.zeros((1, mix.shape[1])), np.ones((1, 1))]])
    return gain, const, mix


def bicubic_mixed(g: Graph, planes: str, scale: int, mix: np.ndarray) -> str:
    """MATLAB bicubic (imresize.upscale_kernel) of (1, c, h, w) planes, mixed by mix (o, c):
    (1, o, r*h, r*w), each output channel sum over c of mix[o, c] * (plane c enlarged)."""
    kernel, reach = upscale_kernel(scale)  # (k, k, 1, r*r), channel = HR phase
    # Output channel phase*o_count + o, the order DepthToSpace (DCR) takes for o channels.
    mixed = np.einsum("oc,abp->abcpo", mix, kernel[:, :, 0, :]).reshape(*kernel.shape[:2], mix.shape[1], -1)
    phases = _conv(g, symmetric_pad(g, planes, reach), mixed.astype(np.float32))
    return g.op("DepthToSpace", phases, blocksize=scale, mode="DCR")


def to_uint8(g: Graph, x: str) -> str:
    """As color.to_uint8: clip, then round half up (ONNX's Round would round half to even)."""
    clipped = g.op("Clip", x, g.const(0.0), g.const(255.0))
    return g.op("Cast", g.op("Floor", g.op("Add", clipped, g.const(0.5))), to=TensorProto.UINT8)


def colour(g: Graph, y: str, planes: str | None, scale: int, matrix, offset, alpha: bool) -> str:
    """(1, 1, rH, rW) luma and the (1, c, H, W) other planes -> (1, o, rH, rW) uint8 output channels."""
    gain, const, mix = colour_map(matrix, offset, alpha)
    column = lambda v: g.const(np.reshape(v, (1, -1, 1, 1)))  # noqa: E731
    out = g.op("Add", g.op("Mul", y, column(gain)), column(const))
    if mix.size:
        out = g.op("Add", out, bicubic_mixed(g, planes, scale, mix))
    return to_uint8(g, out)


def tile_program(weights: Weights, tta: bool, kind: str) -> onnx.ModelProto:
    """The engines' tile program: (1, h, w, c) float32 block -> (1, rh, rw, c), float32 luma or
    uint8 for the other kinds (fsrcnn/engines/__init__.py)."""
    from .engines import plan

    p, g = plan(kind), Graph()
    block = helper.make_tensor_value_info("block", TensorProto.FLOAT, [1, "h", "w", p.channels])
    x = g.op("Transpose", "block", perm=[0, 3, 1, 2])
    y = luma(g, weights, g.slice(x, 0, 1, 1), tta)
    if p.colour is None:
        out, dtype = y, TensorProto.FLOAT
    else:
        planes = g.slice(x, 1, p.channels, 1) if p.channels > 1 else None
        out, dtype = colour(g, y, planes, weights.scale, *p.colour, p.alpha), TensorProto.UINT8
    out = g.op("Transpose", out, perm=[0, 2, 3, 1])
    info = helper.make_tensor_value_info("hr", dtype, [1, "rh", "rw", p.channels])
    return g.model([block], out, info, f"fsrcnn tile program x{weights.scale}, {kind}, self-ensemble {tta}")


def luma_model(weights: Weights, doc: str = "") -> onnx.ModelProto:
    """Y (1, 1, H, W) float32 in 0..1 -> (1, 1, sH, sW): the whole plane mirror-padded by the
    margin, the network, the margin cropped (model.luma_forward). H and W at least the margin."""
    g, m, r = Graph(), weights.margin, weights.scale
    x = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "H", "W"])
    out = crop(g, network(g, weights, symmetric_pad(g, "y", m)), m * r)
    info = helper.make_tensor_value_info("hr_y", TensorProto.FLOAT, [1, 1, "sH", "sW"])
    return g.model([x], out, info, doc)


def rgb_model(weights: Weights, doc: str = "") -> onnx.ModelProto:
    """uint8 RGB (H, W, 3) -> uint8 RGB (sH, sW, 3), as reference.upscale_array: BT.601 YCbCr (as
    MATLAB's rgb2ycbcr), FSRCNN on Y, MATLAB bicubic on Cb and Cr, back to RGB, clipped and rounded."""
    from .color import display_map

    g, m, r = Graph(), weights.margin, weights.scale
    x = helper.make_tensor_value_info("rgb", TensorProto.UINT8, ["H", "W", 3])
    rgb = g.op("Cast", "rgb", to=TensorProto.FLOAT)
    # rgb_to_ycbcr is affine: its offset and its matrix (row c: what channel c adds) read back from it.
    offset = rgb_to_ycbcr(np.zeros(3))
    ycc = g.op("Add", g.op("MatMul", rgb, g.const(rgb_to_ycbcr(np.eye(3)) - offset)), g.const(offset))
    planes = g.op("Unsqueeze", g.op("Transpose", ycc, perm=[2, 0, 1]), g.const([0], np.int64))  # (1, 3, H, W)
    y = g.op("Mul", g.slice(planes, 0, 1, 1), g.const(1.0 / LUMA_RANGE))
    hr_y = crop(g, network(g, weights, symmetric_pad(g, y, m)), m * r)
    out = colour(g, hr_y, g.slice(planes, 1, 3, 1), r, *display_map("rgb"), False)  # (1, 3, sH, sW)
    out = g.op("Transpose", g.op("Squeeze", out, g.const([0], np.int64)), perm=[1, 2, 0])
    info = helper.make_tensor_value_info("hr_rgb", TensorProto.UINT8, ["sH", "sW", 3])
    return g.model([x], out, info, doc)
