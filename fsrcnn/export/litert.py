"""The LiteRT (TFLite) file, made by TensorFlow's converter from tf_graph.luma_function.

Input (1, H, W, 1) float32 luma in 0..1 (BT.601 studio range, as the ONNX luma file), output
(1, sH, sW, 1); the mirror padding (MIRROR_PAD, SYMMETRIC) is inside. The size is dynamic:
call `resize_tensor_input` with the image's size, then `allocate_tensors` (docs/export.md).
float32 weights and arithmetic (no quantisation), so it computes the reference's numbers.
"""
from pathlib import Path

from ..weights import Weights
from .tf_graph import concrete


def flatbuffer(weights: Weights) -> bytes:
    import tensorflow as tf

    function = concrete(weights)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], function)
    return converter.convert()


def write(weights: Weights, output: Path) -> None:
    output.write_bytes(flatbuffer(weights))
