"""FSRCNN as one TensorFlow function of whole luma planes, for the frozen graph (OpenCV) and LiteRT.

(1, H, W, 1) luma in, (1, sH, sW, 1) out: the plane mirror-padded (numpy's 'symmetric') by the
receptive radius, 'valid' convolutions (which then never see zero padding), the sub-pixel form
of the deconvolution (model.subpixel_kernel) and depth_to_space: model.luma_forward on the whole
plane, and no crop at the end. An affine map of the luma on the way in and out can be folded
into the first and last layers (the OpenCV file takes full-range luma).
"""
from __future__ import annotations

import numpy as np

from ..weights import Weights


def _pad_by_slices(x, before: int, after: int, axis: int):
    """numpy.pad(mode='symmetric') along H (axis 1) or W (axis 2) from one-pixel slices: OpenCV
    4's TensorFlow importer reads MirrorPad as 'reflect' (without the edge pixel), whatever its mode."""
    import tensorflow as tf

    def rows(start, stop):  # a full-rank slice, as OpenCV's importer wants it
        return x[:, start:stop, :, :] if axis == 1 else x[:, :, start:stop, :]

    head = [rows(i, i + 1) for i in reversed(range(before))]
    tail = [rows(-i - 1, -i if i else None) for i in range(after)]
    return tf.concat(head + [x] + tail, axis)


def luma_function(weights: Weights, affine: tuple[float, float] = (1.0, 0.0), mirror_op: bool = True):
    """The whole-plane network as a function of (1, H, W, 1) float32 tensors.

    affine (a, b): the input u stands for luma a*u + b, and the output is returned in u's units
    too; folded into the first convolution and the last. mirror_op: tf.pad's SYMMETRIC mode
    (LiteRT's MIRROR_PAD), else one-pixel slices (for OpenCV)."""
    import tensorflow as tf

    a, b = affine
    convs = [list(c) for c in weights.convs]
    kernel, bias, alpha = convs[0]
    convs[0] = [kernel * a, bias + b * kernel.sum(axis=(0, 1, 2)), alpha]  # conv(a*u + b) = a*conv(u) + b*sum
    r, (low, high) = weights.scale, weights.taps
    sub_kernel = weights.subpixel() / a  # (y - b) / a on the way out
    out_bias = (weights.deconv_bias - b) / a
    m = sum(k.shape[0] // 2 for k, _, _ in convs)  # how far the 'same' convolutions read beyond a pixel
    before, after = m - low, m + high

    def forward(x):
        if mirror_op:
            x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]], mode="SYMMETRIC")
        else:
            x = _pad_by_slices(_pad_by_slices(x, before, after, 1), before, after, 2)
        for k, c, s in convs:
            x = tf.nn.conv2d(x, tf.constant(np.asarray(k, np.float32)), 1, "VALID") + tf.constant(
                np.asarray(c, np.float32))
            # PReLU as relu(x) + alpha * (x - |x|) / 2: the pattern OpenCV's importer fuses (its own FSRCNN files')
            x = tf.nn.relu(x) + tf.constant(np.asarray(s, np.float32)) * (x - tf.abs(x)) * 0.5
        x = tf.nn.conv2d(x, tf.constant(np.asarray(sub_kernel, np.float32)), 1, "VALID")
        return tf.nn.depth_to_space(x, r) + tf.constant(np.float32([out_bias]))

    return forward


def concrete(weights: Weights, **options):
    """luma_function traced for (1, H, W, 1) float32 input of any size."""
    import tensorflow as tf

    spec = tf.TensorSpec([1, None, None, 1], tf.float32, name="lr_y")
    return tf.function(luma_function(weights, **options)).get_concrete_function(spec)
