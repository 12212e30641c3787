import keras
import numpy as np
import pytest

from fsrcnn.model import architecture, build_fsrcnn, luma_forward, receptive_radius, subpixel_kernel


@pytest.fixture(scope="module", params=[2, 3, 4])
def model(request):
    keras.utils.set_random_seed(request.param)
    m = build_fsrcnn(request.param)
    kernel, bias = m.get_layer("deconv").get_weights()
    m.get_layer("deconv").set_weights([np.random.default_rng(0).normal(0, 0.05, kernel.shape), bias + 0.1])
    return m


@pytest.mark.parametrize("h,w", [(1, 1), (7, 7), (8, 13), (16, 9)])
def test_output_is_exactly_scale_times_input_for_any_size_and_batch(model, h, w):
    scale = architecture(model)["scale"]
    out = model(np.random.rand(3, h, w, 1).astype(np.float32))
    assert out.shape == (3, h * scale, w * scale, 1)


def test_paper_architecture_and_size():
    m = build_fsrcnn(3)
    assert architecture(m) == {"scale": 3, "d": 56, "s": 12, "m": 4}
    # 12,464 weights in the convolutions and deconvolution plus one PReLU slope per channel.
    assert m.count_params() == 12809
    prelus = [layer for layer in m.layers if isinstance(layer, keras.layers.PReLU)]
    assert len(prelus) == 7 and all(p.get_weights()[0].shape == (1, 1, p.get_weights()[0].shape[-1]) for p in prelus)
    assert np.allclose(prelus[0].get_weights()[0], 0.25)


def test_parameters_change_the_architecture():
    m = build_fsrcnn(2, d=32, s=5, m=2, prelu_init=0.0)
    assert architecture(m) == {"scale": 2, "d": 32, "s": 5, "m": 2}
    assert all(np.all(layer.get_weights()[0] == 0) for layer in m.layers if isinstance(layer, keras.layers.PReLU))


def test_weight_file_round_trip(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = np.random.rand(1, 11, 6, 1).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    assert path.stat().st_size < 200_000


def test_subpixel_kernel_is_the_same_in_numpy_and_tensorflow(model):
    # (that the rewrite computes the deconvolution is tested per engine in test_engines.py)
    scale = architecture(model)["scale"]
    kernel = model.get_layer("deconv").get_weights()[0]
    import tensorflow as tf

    np.testing.assert_array_equal(subpixel_kernel(kernel, scale), subpixel_kernel(tf.constant(kernel), scale).numpy())


def test_luma_forward_is_the_model_on_the_mirrored_plane(model):
    scale = architecture(model)["scale"]
    y = np.random.default_rng(1).random((9, 12)).astype(np.float32)
    out = luma_forward(model, y, scale)
    assert out.shape == (9 * scale, 12 * scale)
    # Mirroring a mirror-symmetric plane changes nothing: the result of a flipped plane is flipped.
    wide = np.concatenate([y, y[:, ::-1]], axis=1)
    both = luma_forward(model, wide, scale)
    np.testing.assert_allclose(both[:, : 12 * scale], out, atol=1e-5)


def test_receptive_radius_is_exact(model):
    """Changing an input pixel `radius` LR pixels away changes the output; one further does not."""
    scale = architecture(model)["scale"]
    r = receptive_radius(scale)
    n, c = 2 * r + 7, r + 3
    x = np.random.rand(1, n, n, 1).astype(np.float32)
    base = np.asarray(model(x))[0, c * scale : (c + 1) * scale, c * scale : (c + 1) * scale]

    def changed(dy):
        y = x.copy()
        y[0, c + dy, c] += 1.0
        out = np.asarray(model(y))[0, c * scale : (c + 1) * scale, c * scale : (c + 1) * scale]
        return np.abs(out - base).max() > 1e-7

    assert changed(r) or changed(-r)
    assert not changed(r + 1) and not changed(-r - 1)
