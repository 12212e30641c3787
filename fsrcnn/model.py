"""FSRCNN (Dong, Loy, Tang, ECCV 2016): the Keras model, its geometry, and the reference forward pass.

    LR luma (H, W, 1)
      -> conv 5x5, d   + PReLU     feature extraction
      -> conv 1x1, s   + PReLU     shrinking
      -> m x (conv 3x3, s + PReLU) non-linear mapping
      -> conv 1x1, d   + PReLU     expanding
      -> transposed conv 9x9, stride = scale, 1 channel    deconvolution
    HR luma (scale*H, scale*W, 1)

Every layer is fully convolutional and PReLU shares its slope over the spatial axes, so one
model takes any input size and batch.

Keras (and with it TensorFlow) is imported only where a model is built: the geometry below is
plain numpy, and the OpenVINO engine uses it without loading TensorFlow.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

DECONV_KERNEL = 9
DECONV_NAME = "deconv"


def build_fsrcnn(scale: int, d: int = 56, s: int = 12, m: int = 4, prelu_init: float = 0.25) -> keras.Model:
    """The FSRCNN(d, s, m) network for an integer `scale`, luma in and out (0..1 floats).

    He-normal convolutions and N(0, 0.001) deconvolution as in the paper. PReLU slopes start at
    0.25 (the paper's value) rather than 0 (a plain ReLU): with only s = 12 channels in the
    mapping layers, units that start dead under ReLU are a large share of the model.
    """
    import keras
    from keras import layers

    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")

    def conv_prelu(x, filters, kernel, name):
        x = layers.Conv2D(filters, kernel, padding="same", kernel_initializer="he_normal", name=name)(x)
        return layers.PReLU(
            alpha_initializer=keras.initializers.Constant(prelu_init), shared_axes=[1, 2], name=f"{name}_prelu"
        )(x)

    lr = keras.Input(shape=(None, None, 1), name="lr_luma")
    x = conv_prelu(lr, d, 5, "extract")
    x = conv_prelu(x, s, 1, "shrink")
    for i in range(m):
        x = conv_prelu(x, s, 3, f"map{i + 1}")
    x = conv_prelu(x, d, 1, "expand")
    hr = layers.Conv2DTranspose(
        1,
        DECONV_KERNEL,
        strides=scale,
        padding="same",
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.001),
        name=DECONV_NAME,
    )(x)
    return keras.Model(lr, hr, name=f"fsrcnn_x{scale}_d{d}_s{s}_m{m}")


def architecture(model: keras.Model) -> dict:
    """scale, d, s, m of a model built by build_fsrcnn (read from its layers)."""
    deconv = model.get_layer(DECONV_NAME)
    maps = [layer for layer in model.layers if layer.name.startswith("map") and not layer.name.endswith("prelu")]
    return {
        "scale": int(deconv.strides[0]),
        "d": int(model.get_layer("extract").filters),
        "s": int(model.get_layer("shrink").filters),
        "m": len(maps),
    }


def deconv_taps(scale: int) -> tuple[int, int]:
    """LR offsets (lowest, highest) that the 'same' transposed convolution reads for one HR pixel.

    TF's 'same' transposed conv with kernel k and stride r pads (k - r) // 2 before, so HR pixel
    r*q + phase gets LR pixel q + o through kernel tap r*(-o) + phase + pad.
    """
    pad = max(DECONV_KERNEL - scale, 0) // 2
    low = -((DECONV_KERNEL - 1 - pad) // scale)
    high = (scale - 1 + pad) // scale
    return low, high


def receptive_radius(scale: int, m: int = 4) -> int:
    """How many LR pixels from a border an output pixel can still see padding (per side)."""
    low, high = deconv_taps(scale)
    return 2 + m + max(-low, high)


def _subpixel_index(scale: int) -> np.ndarray:
    """(span, span, r*r) indices into the deconvolution's k*k taps; k*k stands for a zero tap."""
    r, k = scale, DECONV_KERNEL
    pad = max(k - r, 0) // 2
    low, high = deconv_taps(scale)
    span = high - low + 1
    index = np.full((span, span, r * r), k * k)
    for oy in range(low, high + 1):
        for ox in range(low, high + 1):
            for py in range(r):
                for px in range(r):
                    ty, tx = -r * oy + py + pad, -r * ox + px + pad
                    if 0 <= ty < k and 0 <= tx < k:
                        index[oy - low, ox - low, py * r + px] = ty * k + tx
    return index


def subpixel_kernel(kernel, scale: int):
    """The deconvolution's (k, k, 1, d) kernel as an ordinary conv kernel (span, span, d, r*r).

    Output channel py*r + px holds the taps that HR phase (py, px) applies to each LR offset, so
    a 'valid' conv with it followed by depth_to_space is the 'same' transposed convolution,
    cropped by `max(-low, high)` LR pixels per side. Built with one gather, so gradients reach
    the original kernel: training and inference both use this cheaper form (it skips the r*r
    zero taps the strided transposed convolution multiplies through). A numpy kernel gives a
    numpy result (the engines), a tensor a tensor (training).
    """
    k = DECONV_KERNEL
    index = _subpixel_index(scale)
    if isinstance(kernel, np.ndarray):
        taps = kernel.reshape(k * k, -1)
        taps = np.concatenate([taps, np.zeros_like(taps[:1])], axis=0)
        return np.transpose(taps[index], (0, 1, 3, 2))
    import tensorflow as tf

    taps = tf.reshape(tf.convert_to_tensor(kernel), (k * k, -1))
    taps = tf.concat([taps, tf.zeros_like(taps[:1])], axis=0)
    return tf.transpose(tf.gather(taps, index), (0, 1, 3, 2))


def luma_forward(net: keras.Model, y: np.ndarray, scale: int) -> np.ndarray:
    """Reference path: the plain Keras model on one whole mirror-padded luma plane (0..1).

    Used for validation during training, and by fsrcnn/reference.py as the ground truth that
    every engine's tiled path must reproduce.
    """
    m = receptive_radius(scale, architecture(net)["m"])
    h, w = y.shape
    padded = np.pad(np.asarray(y, np.float32), m, mode="symmetric")
    out = np.asarray(net(padded[None, :, :, None], training=False))[0, :, :, 0]
    return out[m * scale : (m + h) * scale, m * scale : (m + w) * scale]
