"""`python -m fsrcnn export`: the shipped weights as files for other stacks, each with a card.

Made on demand from the numpy weights (weights.read_weights), one module per target:
onnx_graph (ONNX: the luma network, and an "RGB in, RGB out" file), export/opencv.py (a frozen
TensorFlow graph for OpenCV 4's dnn_superres), export/litert.py (LiteRT, TFLite). Beside each
file FILE a card FILE.md gives its input and output contract, the colour conversion, the scale
and the SHA-256 of the weight file it was made from. docs/export.md shows how to run each.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..models import SCALES, VARIANTS, weights_path
from ..weights import Weights, check_file, read_weights

MODELS = tuple(VARIANTS)  # the model names this command takes: the registry's variants

BT601 = ("BT.601 studio-range luma, as MATLAB's rgb2ycbcr: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 "
         "for R, G, B in 0..255; the network takes and gives Y / 255")


@dataclass(frozen=True)
class Format:
    suffix: str  # appended to the weight file's stem: fsrcnn_x2 -> fsrcnn_x2.onnx
    summary: str
    contract: str  # input and output, for the card


FORMATS = {
    "onnx": Format(".onnx", "ONNX, the luma network (opset 13, standard ops)",
                   "input `y`: float32 (1, 1, H, W), luma in 0..1 ({bt601}); H and W dynamic, each at least "
                   "{margin}. Output `hr_y`: float32 (1, 1, {s}H, {s}W), same units, not clipped. The plane is "
                   "mirror-padded inside (numpy's 'symmetric', by {margin} pixels) as the reference does, so a "
                   "whole plane in gives the reference result. Colour is yours: e.g. bicubic Cb and Cr."),
    "onnx-rgb": Format("_rgb.onnx", "ONNX, RGB in and RGB out (opset 13, standard ops)",
                       "input `rgb`: uint8 (H, W, 3) RGB; H and W dynamic, each at least {margin}. Output "
                       "`hr_rgb`: uint8 ({s}H, {s}W, 3) RGB. Inside: YCbCr ({bt601}), FSRCNN on Y (mirror-padded "
                       "by {margin} pixels), MATLAB-bicubic Cb and Cr, back to RGB, clipped and rounded half up: "
                       "what `python -m fsrcnn upscale` writes, to within one level where float rounding flips a tie."),
    "opencv": Format(".pb", "frozen TensorFlow graph, a drop-in for OpenCV 4's dnn_superres",
                     "for `cv2.dnn_superres`: readModel(FILE); setModel(\"fsrcnn\", {s}); upsample(bgr_uint8). "
                     "The graph takes OpenCV's full-range luma Y_f in 0..1 (what dnn_superres feeds it, from "
                     "cvtColor BGR2YCrCb) as (1, H, W, 1) and gives Y_f of the {s}x image; the map to the studio "
                     "range the weights were trained on (y = 16/255 + 219/255 * Y_f) is folded into its first "
                     "and last layers, and the mirror padding ({margin} pixels) is inside. OpenCV 4.x only: "
                     "OpenCV 5 reads no TensorFlow files (use the ONNX file with cv2.dnn)."),
    "litert": Format(".tflite", "LiteRT (TFLite) flatbuffer, float32",
                     "input: float32 (1, H, W, 1), luma in 0..1 ({bt601}); H and W dynamic (resize_tensor_input, "
                     "then allocate_tensors), each at least {margin}. Output: float32 (1, {s}H, {s}W, 1), same "
                     "units, not clipped; mirror padding inside, as the reference."),
}


def output_name(scale: int, model: str, fmt: str) -> str:
    """The file name --all writes: the weight file's stem and the format's suffix."""
    return weights_path(scale, None, model).stem + FORMATS[fmt].suffix


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def card(weights: Weights, source: Path, model: str, fmt: str, output: Path) -> str:
    f = FORMATS[fmt]
    contract = f.contract.format(s=weights.scale, margin=weights.margin, bt601=BT601)
    return "\n".join([
        f"# {output.name}",
        "",
        f"FSRCNN x{weights.scale}, the {model} model: {f.summary}.",
        "",
        f"- scale: {weights.scale}",
        f"- contract: {contract}",
        f"- source weights: {source.name}, SHA-256 {sha256(source)}",
        f"- network: FSRCNN(d={weights.convs[0][0].shape[-1]}, s={weights.convs[1][0].shape[-1]}, m={weights.m}), "
        "float32, made by `python -m fsrcnn export` from the numpy weights",
        "- usage: docs/export.md of the fsrcnn project",
        "",
    ])


def export(scale: int, model: str, fmt: str, output: str | Path, weights_dir: str | Path | None = None) -> Path:
    """Write one file and its card (output + '.md'); returns the file's path."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: use {', '.join(MODELS)}")
    source = check_file(weights_path(scale, weights_dir, model))
    weights = read_weights(source)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    doc = f"FSRCNN x{scale} ({model}) from {source.name}, SHA-256 {sha256(source)}"
    if fmt in ("onnx", "onnx-rgb"):
        from .. import onnx_graph

        build = onnx_graph.luma_model if fmt == "onnx" else onnx_graph.rgb_model
        output.write_bytes(build(weights, doc).SerializeToString())
    elif fmt == "opencv":
        from . import opencv

        opencv.write(weights, output)
    else:
        from . import litert

        litert.write(weights, output)
    Path(f"{output}.md").write_text(card(weights, source, model, fmt, output))
    return output


def export_all(folder: str | Path, weights_dir: str | Path | None = None, formats=None) -> list[Path]:
    """Every installed weight file (clean always; the others when present) in every format (or in `formats`)."""
    written, formats = [], formats or tuple(FORMATS)
    for model in MODELS:
        for scale in SCALES:
            if model != "clean" and not weights_path(scale, weights_dir, model).exists():
                continue
            for fmt in formats:
                written.append(export(scale, model, fmt, Path(folder) / output_name(scale, model, fmt), weights_dir))
    return written
