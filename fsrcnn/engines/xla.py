"""The tile program in TensorFlow, compiled by XLA: the engine for GPUs, and the CPU fallback.

FSRCNN runs in its sub-pixel form (model.subpixel_kernel): the stride-r transposed convolution
becomes an ordinary small convolution to r*r channels and depth_to_space, the same arithmetic
on the same weights without TensorFlow's slow strided scatter. Weights are graph constants and
PReLU is one select, so XLA fuses each bias and PReLU into its convolution.
"""
import numpy as np
import tensorflow as tf

from ..ensemble import DIHEDRAL, GROUPS
from ..imresize import upscale_kernel
from ..weights import Weights
from . import LUMA_RANGE, plan


def network(weights: Weights):
    """FSRCNN as a function of (n, h, w, 1) luma tensors, the same function as the Keras model."""
    layers = [[tf.constant(kernel), tf.constant(bias), tf.constant(alpha)] for kernel, bias, alpha in weights.convs]
    low, high = weights.taps
    sub_kernel = tf.constant(weights.subpixel())
    bias = tf.constant(weights.deconv_bias, tf.float32)
    r = weights.scale

    def forward(lr):
        x = lr
        for kernel, b, alpha in layers:
            x = tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), b)
            x = tf.where(x > 0, x, x * alpha)
        x = tf.pad(x, [[0, 0], [-low, high], [-low, high], [0, 0]])
        phases = tf.nn.conv2d(x, sub_kernel, strides=1, padding="VALID")
        return tf.nn.depth_to_space(phases, r) + bias

    return forward


def _rot90(x, k: int):
    """np.rot90(x, k, axes=(1, 2)) for NHWC tensors."""
    for _ in range(k % 4):
        x = tf.transpose(tf.reverse(x, [2]), (0, 2, 1, 3))
    return x


def _forward_transform(x, t):
    transpose, k = t
    return _rot90(tf.transpose(x, (0, 2, 1, 3)) if transpose else x, k)


def _inverse_transform(x, t):
    transpose, k = t
    x = _rot90(x, -k)
    return tf.transpose(x, (0, 2, 1, 3)) if transpose else x


def self_ensemble(net, x):
    """Mean over the 8 symmetries of net(view of x), each view undone; one batch per view shape."""
    total = 0.0
    for group in GROUPS:
        out = net(tf.concat([_forward_transform(x, t) for t in group], axis=0))
        for i, t in enumerate(group):
            total += _inverse_transform(out[i : i + 1], t)
    return total / len(DIHEDRAL)


def _uint8(x):  # as color.to_uint8: clip, round half up
    return tf.cast(tf.floor(tf.clip_by_value(x, 0.0, 255.0) + 0.5), tf.uint8)


class Program:
    """One tile program (see fsrcnn/engines/__init__.py), compiled by XLA once per block shape.

    `device` is a TensorFlow device ('/CPU:0', '/GPU:0'); `streams` is OpenVINO's hint and means
    nothing here. `threads` bounds TensorFlow's CPU threads, which are process-wide and fixed once
    TensorFlow has run anything: it counts only for the first program of a process.
    """

    def __init__(self, weights: Weights, scale: int, tta: bool, kind: str, *, device: str = "/CPU:0",
                 streams: int = 1, threads: int | None = None):
        if weights.scale != scale:
            raise ValueError(f"weights for x{weights.scale}, program for x{scale}")
        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            except RuntimeError:
                pass  # TensorFlow has started already: its thread pools stay as they are
        p = plan(kind)
        self.device = device
        with tf.device(device):
            net = network(weights)
            kernel, reach = upscale_kernel(scale)
            if p.colour is not None:
                matrix, offset = (tf.constant(np.asarray(a, np.float32)) for a in p.colour)
                matrix = tf.transpose(matrix)

        def bicubic(planes):  # (1, h, w, c) -> (1, scale*h, scale*w, c), the border mirrored
            x = tf.transpose(planes, (3, 1, 2, 0))
            x = tf.pad(x, [[0, 0], [reach, reach], [reach, reach], [0, 0]], mode="SYMMETRIC")
            x = tf.nn.depth_to_space(tf.nn.conv2d(x, kernel, 1, "VALID"), scale)
            return tf.transpose(x, (3, 1, 2, 0))

        def run(block):
            luma = block[..., :1]
            y = self_ensemble(net, luma) if tta else net(luma)
            if p.colour is None:
                return y[0, :, :, 0]
            y = y * LUMA_RANGE
            planes = tf.concat([y, bicubic(block[..., 1 : 1 + p.chroma])], axis=-1) if p.chroma else y
            out = _uint8(tf.tensordot(planes - offset, matrix, 1))
            if p.alpha:
                out = tf.concat([out, _uint8(bicubic(block[..., -1:]))], axis=-1)
            return out[0, :, :, 0] if out.shape[-1] == 1 else out[0]

        spec = [tf.TensorSpec([1, None, None, p.channels], tf.float32)]
        with tf.device(device):
            self._program = tf.function(run, input_signature=spec, jit_compile=True)

    def release_memory(self) -> None:
        """Nothing to do: TensorFlow's allocator keeps and reuses its own memory."""

    def __call__(self, block: np.ndarray) -> np.ndarray:
        with tf.device(self.device):
            return self._program(block).numpy()
