import keras
import numpy as np
import pytest

from fsrcnn.model import FastFSRCNN, architecture, build_fsrcnn, receptive_radius


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
    prelus = [l for l in m.layers if isinstance(l, keras.layers.PReLU)]
    assert len(prelus) == 7 and all(p.get_weights()[0].shape == (1, 1, p.get_weights()[0].shape[-1]) for p in prelus)
    assert np.allclose(prelus[0].get_weights()[0], 0.25)


def test_parameters_change_the_architecture():
    m = build_fsrcnn(2, d=32, s=5, m=2, prelu_init=0.0)
    assert architecture(m) == {"scale": 2, "d": 32, "s": 5, "m": 2}
    assert all(np.all(l.get_weights()[0] == 0) for l in m.layers if isinstance(l, keras.layers.PReLU))


def test_weight_file_round_trip(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = np.random.rand(1, 11, 6, 1).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    assert path.stat().st_size < 200_000


def test_subpixel_rewrite_computes_the_same_function(model):
    x = np.random.rand(2, 13, 10, 1).astype(np.float32)
    np.testing.assert_allclose(np.asarray(FastFSRCNN(model)(x)), np.asarray(model(x)), atol=1e-5)


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
