"""A richer FSRCNN for training that collapses into the plain FSRCNN(d, s, m) exactly.

Every convolution is linear, and so is any sum or chain of convolutions with no nonlinearity
between them. A training network may therefore learn each of FSRCNN's kernels through a richer
linear block and collapse it into one kernel of the same shape; the PReLUs between the blocks
stay, so the collapsed network *is* FSRCNN(d, s, m), with its 12,809 parameters and cost.

One block (`CollapsibleConv2D`, a k x k convolution from cin to cout channels) sums:

    main       the k x k convolution itself
    expansion  k x k conv cin -> E, then 1 x 1 conv E -> cout       (SESR's collapsible linear block)
    edges      1 x 1 conv cin -> cout, then a fixed Sobel-x, Sobel-y or Laplacian mask per channel
               with a learnt scale and bias                          (ECBSR's edge-oriented branches;
               a mask's taps sum to zero, so a bias on the 1 x 1 would cancel out: it has none)
    identity   + x, where cin == cout                                (the short residual of both)

The product and sum collapse exactly for 'valid' convolutions, which is how training runs
(train.Trainer.interior); a 'same' convolution would see zero padding enter each branch
differently at the borders, which the interior loss and the mirror-padded inference never use.

Training runs the collapsed kernels, recomputed from the branches each step (SESR's "collapsed
training"): the gradients are those of the richer network, the convolutions cost what FSRCNN's
cost. `expanded_call` runs the branches one by one, as the training network is defined; the
tests hold the collapsed FSRCNN to it.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from .model import DECONV_KERNEL, DECONV_NAME, build_fsrcnn

SOBEL_X = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float32)
EDGE_MASKS = {
    "sobel_x": SOBEL_X,
    "sobel_y": SOBEL_X.T.copy(),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32),
}


def _centred(mask: np.ndarray, k: int) -> np.ndarray:
    """A 3x3 mask in the middle of a k x k kernel (k odd, >= 3)."""
    out = np.zeros((k, k), np.float32)
    o = (k - 3) // 2
    out[o : o + 3, o : o + 3] = mask
    return out


@keras.saving.register_keras_serializable(package="fsrcnn")
class CollapsibleConv2D(layers.Layer):
    """A k x k convolution learnt as the sum of the branches in the module docstring.

    `kernel_and_bias()` is the collapsed (k, k, cin, cout) kernel and (cout,) bias, as tensors
    that carry gradients to every branch. `call` is a 'same' convolution with them (for the
    Keras model as a whole: validation); training crops it to 'valid' (train.Trainer.interior).
    """

    def __init__(self, filters: int, kernel_size: int, expansion: int = 0, edges: bool = False,
                 identity: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.expansion, self.edges, self.identity = expansion, edges and kernel_size >= 3, identity

    def build(self, input_shape):
        k, cin, cout = self.kernel_size, int(input_shape[-1]), self.filters
        self.identity = self.identity and cin == cout
        self.kernel = self.add_weight(shape=(k, k, cin, cout), initializer="he_normal", name="kernel")
        self.bias = self.add_weight(shape=(cout,), initializer="zeros", name="bias")
        if self.expansion:
            e = self.expansion
            self.expand_in = self.add_weight(shape=(k, k, cin, e), initializer="he_normal", name="expand_in")
            self.expand_in_bias = self.add_weight(shape=(e,), initializer="zeros", name="expand_in_bias")
            # The product starts small, so the block starts near its main convolution (SESR scales
            # the expanded path the same way), and every factor still gets a gradient.
            self.expand_out = self.add_weight(shape=(e, cout), name="expand_out",
                                              initializer=keras.initializers.RandomNormal(0.0, 0.01))
        self.edge_weights = {}
        if self.edges:
            for name in EDGE_MASKS:
                small = keras.initializers.RandomNormal(0.0, 1e-3)  # ECBSR's start for scale and bias
                self.edge_weights[name] = (
                    self.add_weight(shape=(cin, cout), initializer="he_normal", name=f"{name}_in"),
                    self.add_weight(shape=(cout,), initializer=small, name=f"{name}_scale"),
                    self.add_weight(shape=(cout,), initializer=small, name=f"{name}_bias"),
                )
        self.cin = cin

    def kernel_and_bias(self):
        k, cin = self.kernel_size, self.cin
        kernel, bias = self.kernel.value, self.bias.value
        if self.expansion:
            w_out = self.expand_out.value
            kernel = kernel + ops.einsum("hwie,eo->hwio", self.expand_in.value, w_out)
            bias = bias + ops.matmul(self.expand_in_bias.value[None], w_out)[0]
        for name, (w_in, scale, edge_bias) in self.edge_weights.items():
            mask = ops.convert_to_tensor(_centred(EDGE_MASKS[name], k))
            kernel = kernel + mask[:, :, None, None] * (w_in.value * scale.value)[None, None]
            bias = bias + edge_bias.value
        if self.identity:
            centre = np.zeros((k, k, cin, cin), np.float32)
            centre[k // 2, k // 2] = np.eye(cin, dtype=np.float32)
            kernel = kernel + ops.convert_to_tensor(centre)
        return kernel, bias

    def call(self, x):
        kernel, bias = self.kernel_and_bias()
        return ops.conv(x, kernel, padding="same") + bias

    def expanded_call(self, x):
        """The block as the training network defines it, branch by branch ('valid' convolutions)."""
        k, c = self.kernel_size, self.kernel_size // 2
        y = ops.conv(x, self.kernel.value, padding="valid") + self.bias.value
        if self.expansion:
            wide = ops.conv(x, self.expand_in.value, padding="valid") + self.expand_in_bias.value
            y = y + ops.conv(wide, self.expand_out.value[None, None], padding="valid")
        for name, (w_in, scale, edge_bias) in self.edge_weights.items():
            z = ops.conv(x, w_in.value[None, None], padding="valid")
            depthwise = _centred(EDGE_MASKS[name], k)[:, :, None, None] * np.ones((1, 1, self.filters, 1), np.float32)
            y = y + ops.depthwise_conv(z, depthwise, padding="valid") * scale.value + edge_bias.value
        if self.identity:
            y = y + x[:, c : x.shape[1] - c, c : x.shape[2] - c] if c else y + x
        return y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "expansion": self.expansion, "edges": self.edges, "identity": self.identity}


def build_collapsible(scale: int, d: int = 56, s: int = 12, m: int = 4, prelu_init: float = 0.25,
                      expansion: int = 0, edges: bool = False, identity: bool = False) -> keras.Model:
    """The training network: FSRCNN(d, s, m) with every convolution a CollapsibleConv2D.

    Layer names and the deconvolution are FSRCNN's (model.build_fsrcnn), so `collapse` maps it
    layer by layer. Edge branches go to the 3x3 and 5x5 layers, the identity to the mapping layers.
    """
    lr = keras.Input(shape=(None, None, 1), name="lr_luma")

    def block(x, filters, kernel, name, square=False):
        x = CollapsibleConv2D(filters, kernel, expansion, edges, identity and square, name=name)(x)
        return layers.PReLU(alpha_initializer=keras.initializers.Constant(prelu_init), shared_axes=[1, 2],
                            name=f"{name}_prelu")(x)

    x = block(lr, d, 5, "extract")
    x = block(x, s, 1, "shrink")
    for i in range(m):
        x = block(x, s, 3, f"map{i + 1}", square=True)
    x = block(x, d, 1, "expand")
    hr = layers.Conv2DTranspose(1, DECONV_KERNEL, strides=scale, padding="same", name=DECONV_NAME,
                                kernel_initializer=keras.initializers.RandomNormal(0.0, 0.001))(x)
    return keras.Model(lr, hr, name=f"collapsible_fsrcnn_x{scale}_d{d}_s{s}_m{m}")


def is_collapsible(net: keras.Model) -> bool:
    return any(isinstance(layer, CollapsibleConv2D) for layer in net.layers)


def collapse(net: keras.Model) -> keras.Model:
    """The plain FSRCNN that computes what `net` computes (`net` itself when it is plain)."""
    if not is_collapsible(net):
        return net
    convs = [layer for layer in net.layers if isinstance(layer, CollapsibleConv2D)]
    d, s, m = convs[0].filters, convs[1].filters, len(convs) - 3
    scale = int(net.get_layer(DECONV_NAME).strides[0])
    plain = build_fsrcnn(scale, d, s, m)
    for layer in net.layers[1:]:
        target = plain.get_layer(layer.name)
        if isinstance(layer, CollapsibleConv2D):
            target.set_weights([np.asarray(w) for w in layer.kernel_and_bias()])
        else:
            target.set_weights(layer.get_weights())
    return plain


def start_from(net: keras.Model, plain: keras.Model):
    """Set a training network to compute what the plain FSRCNN `plain` computes (a transfer).

    The main branches take the plain kernels; every other branch starts at zero through its last
    factor (the 1x1 back from the expansion, the edge scales), which still receives a gradient.
    """
    for layer in net.layers[1:]:
        source = plain.get_layer(layer.name).get_weights()
        if not isinstance(layer, CollapsibleConv2D):
            layer.set_weights(source)
            continue
        kernel = source[0]
        if layer.identity:
            kernel = kernel.copy()
            kernel[layer.kernel_size // 2, layer.kernel_size // 2] -= np.eye(layer.cin, dtype=np.float32)
        layer.kernel.assign(kernel)
        layer.bias.assign(source[1])
        if layer.expansion:
            layer.expand_out.assign(np.zeros(layer.expand_out.shape, np.float32))
        for _, scale, edge_bias in layer.edge_weights.values():
            scale.assign(np.zeros(scale.shape, np.float32))
            edge_bias.assign(np.zeros(edge_bias.shape, np.float32))


def expanded_interior(net: keras.Model, lr, scale: int):
    """The training network's output on the interior of `lr`, every block run branch by branch.

    The same crop as train.Trainer.interior, with the deconvolution as Keras runs it ('same'
    transposed convolution, then the crop): an independent path for the tests.
    """
    from .model import deconv_taps

    x = lr
    for layer in net.layers[1:]:
        if isinstance(layer, CollapsibleConv2D):
            x = layer.expanded_call(x)
        elif isinstance(layer, layers.Conv2DTranspose):
            # HR phases of the LR pixels whose taps all lie inside x: q from -low to h - 1 - high.
            low, high = deconv_taps(scale)
            y = layer(x)
            return y[:, -low * scale : y.shape[1] - high * scale, -low * scale : y.shape[2] - high * scale]
        else:
            x = layer(x)
    raise ValueError("not an FSRCNN: no deconvolution layer")
