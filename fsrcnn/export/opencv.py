"""The OpenCV dnn_superres drop-in: a frozen TensorFlow graph (.pb) for OpenCV 4.x.

`DnnSuperResImpl.upsample` on a uint8 BGR image (opencv_contrib, modules/dnn_superres/src/
dnn_superres.cpp) does: cvtColor(BGR2YCrCb) on the uint8 image, so Y is full-range
0.299 R + 0.587 G + 0.114 B rounded to an integer; that Y / 255 into the network as a
(1, 1, H, W) blob; Cr and Cb enlarged by cv::resize (bilinear); the network's output times 255
rounded to uint8, merged with them, and cvtColor(YCrCb2BGR). Our weights were trained on
BT.601 studio-range luma, y = 16/255 + 219/255 * Y_full/255, so that affine map is folded into
the first layer and its inverse into the last (tf_graph.luma_function): the file computes our
luma, expressed in OpenCV's units. The mirror padding of the reference is inside the graph.

OpenCV 5 has no TensorFlow importer: use the ONNX files there (docs/export.md).
"""
from pathlib import Path

import numpy as np

from ..weights import Weights
from .tf_graph import concrete

# OpenCV's full-range luma Y_f (0..1) -> our studio-range luma: 16/255 + 219/255 * Y_f.
FULL_TO_STUDIO = (219.0 / 255.0, 16.0 / 255.0)


def _explicit_constants(graph_def):
    """Write every constant out in full: TensorFlow stores a constant of repeated values (a
    strides vector [1, 1, 1, 1]) as one value, and OpenCV's importer then reads a wrong length."""
    import tensorflow as tf

    for node in graph_def.node:
        if node.op == "Const":
            value = tf.make_ndarray(node.attr["value"].tensor)
            tensor = tf.make_tensor_proto(value)
            if value.size > 1 and not tensor.tensor_content:
                tensor.tensor_content = np.ascontiguousarray(value).tobytes()
            node.attr["value"].tensor.CopyFrom(tensor)
    return graph_def


def frozen_graph(weights: Weights) -> bytes:
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = concrete(weights, affine=FULL_TO_STUDIO, mirror_op=False)
    graph_def = convert_variables_to_constants_v2(function).graph.as_graph_def()
    return _explicit_constants(graph_def).SerializeToString()


def write(weights: Weights, output: Path) -> None:
    output.write_bytes(frozen_graph(weights))
