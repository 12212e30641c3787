import keras
import numpy as np
import pytest

from fsrcnn.model import architecture, build_fsrcnn, luma_forward
from fsrcnn.reparam import CollapsibleConv2D, build_collapsible, collapse, expanded_interior, start_from
from fsrcnn.train import Trainer


def randomise(net, seed=0):
    """Every weight random, the branches that start at zero included, so each branch matters.

    Each weight is scaled by its fan-in, so that every layer's output, like a trained network's,
    stays of order one and 1e-5 is a real tolerance (not one lost in float32 rounding of huge values).
    """
    rng = np.random.default_rng(seed)
    weights = []
    for w in net.get_weights():
        fan_in = int(np.prod(w.shape[:-1])) if w.ndim > 1 else 10
        weights.append(rng.normal(0, 0.5 / np.sqrt(fan_in), w.shape).astype(np.float32))
    net.set_weights(weights)


def interior(net, lr, scale):
    """The production training path (collapsed kernels, 'valid' convs, sub-pixel deconvolution)."""
    trainer = Trainer(net, scale, 0, keras.optimizers.Adam(), keras.optimizers.Adam())
    return np.asarray(trainer.interior(lr))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_collapsed_fsrcnn_gives_the_training_networks_output(scale):
    net = build_collapsible(scale, expansion=16, edges=True, identity=True)
    randomise(net, scale)
    lr = np.random.default_rng(1).uniform(0, 1, (2, 21, 19, 1)).astype(np.float32)
    plain = collapse(net)
    # The shipped network: exactly FSRCNN(56, 12, 4), the paper's 12,809 parameters.
    assert architecture(plain) == {"scale": scale, "d": 56, "s": 12, "m": 4}
    assert plain.count_params() == build_fsrcnn(scale).count_params() == 12809 + 0 * scale
    branches = np.asarray(expanded_interior(net, lr, scale))
    np.testing.assert_allclose(interior(plain, lr, scale), branches, atol=1e-5, rtol=0)
    # Training runs the collapsed kernels recomputed from the branches: the same function.
    np.testing.assert_allclose(interior(net, lr, scale), branches, atol=1e-5, rtol=0)


@pytest.mark.parametrize("branches", [dict(expansion=8), dict(edges=True), dict(identity=True)])
def test_each_branch_alone_collapses(branches):
    net = build_collapsible(2, **branches)
    randomise(net, 7)
    lr = np.random.default_rng(2).uniform(0, 1, (1, 17, 17, 1)).astype(np.float32)
    np.testing.assert_allclose(interior(collapse(net), lr, 2), np.asarray(expanded_interior(net, lr, 2)),
                               atol=1e-5, rtol=0)


def test_collapsed_model_is_the_keras_model_on_whole_images():
    net = build_collapsible(3, expansion=8, edges=True, identity=True)
    randomise(net, 3)
    y = np.random.default_rng(4).uniform(0, 1, (13, 15)).astype(np.float32)
    # Through the 'same'-padded Keras model on the mirrored plane, as validation and the reference run it.
    np.testing.assert_allclose(luma_forward(collapse(net), y, 3), luma_forward(net, y, 3), atol=1e-5, rtol=0)


def test_start_from_a_plain_model_keeps_its_function_and_every_branch_learns():
    plain = build_fsrcnn(2)
    randomise(plain, 5)
    net = build_collapsible(2, expansion=8, edges=True, identity=True)
    start_from(net, plain)
    lr = np.random.default_rng(6).uniform(0, 1, (1, 20, 20, 1)).astype(np.float32)
    np.testing.assert_allclose(interior(net, lr, 2), interior(plain, lr, 2), atol=1e-5, rtol=0)
    # Branches that start at zero through their last factor still get a gradient there.
    import tensorflow as tf

    trainer = Trainer(net, 2, 0, keras.optimizers.Adam(), keras.optimizers.Adam())
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(trainer.interior(lr)))
    grads = tape.gradient(loss, net.trainable_variables)
    names = [v.path for v, g in zip(net.trainable_variables, grads, strict=True) if g is None or not np.any(g)]
    # Only the factors in front of a zero factor wait for it to grow (their gradient is zero at the start).
    assert all(n.endswith(("expand_in", "expand_in_bias", "_in")) for n in names), names
    layer = net.get_layer("map1")
    assert isinstance(layer, CollapsibleConv2D) and layer.identity
