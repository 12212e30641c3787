"""Every engine's tile program against the independent reference (fsrcnn.reference) and each other."""
import numpy as np
import pytest

from fsrcnn import engines, reference
from fsrcnn.upscaler import Upscaler
from fsrcnn.weights import Weights

ENGINES = list(engines.ENGINES)


def device_for(engine: str) -> str | None:
    """The GPU where the engine can use one that TensorFlow sees (benchmarks/gpu_check.sh runs these
    tests there), else the CPU: OpenVINO runs on the CPU only, ONNX Runtime on a GPU with onnxruntime-gpu."""
    if engine == "openvino":
        return "cpu"
    if engine == "onnxruntime":
        import onnxruntime

        return None if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else "cpu"
    return None


@pytest.fixture(scope="module")
def all_engines(stand_in_weights):
    return [Upscaler(weights_dir=stand_in_weights, tile=24, engine=e, device=device_for(e)) for e in ENGINES]


def test_engine_devices(all_engines):
    """Each engine runs where device_for puts it (printed with -s: benchmarks/gpu_check.sh shows it)."""
    for up in all_engines:
        print(f"engine {up.engine}: {up.device_name}")
        if device_for(up.engine) == "cpu":
            assert up.device_name.startswith("CPU")


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_the_engines_compute_the_same_thing(all_engines, scale, tta):
    rng = np.random.default_rng(scale)
    y = rng.random((29, 40)).astype(np.float32)  # two tiles across, not square: both view shapes
    first, *others = (up.upscale_luma(y, scale, tta) for up in all_engines)
    for out in others:
        np.testing.assert_allclose(out, first, atol=1e-4)
    shapes = [(29, 40, 4)] if tta else [(29, 40), (29, 40, 3), (29, 40, 4)]  # gray, RGB, RGBA
    for shape in shapes:
        img = rng.integers(0, 256, shape).astype(np.uint8)
        first, *others = (up.upscale_array(img, scale, tta) for up in all_engines)
        for out in others:
            assert out.shape == first.shape and out.dtype == np.uint8
            assert np.abs(out.astype(int) - first).max() <= 1  # a rounding tie at most


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_every_engine_reproduces_the_reference_luma(all_engines, stand_in_models, engine, scale, tta):
    up = all_engines[ENGINES.index(engine)]
    y = np.random.default_rng(10 + scale).random((29, 40)).astype(np.float32)
    expected = reference.upscale_luma(stand_in_models[scale], y, scale, tta)
    np.testing.assert_allclose(up.upscale_luma(y, scale, tta), expected, atol=1e-4)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shape", [(29, 40), (29, 40, 3), (29, 40, 4)], ids=["gray", "RGB", "RGBA"])
@pytest.mark.parametrize("tta", [False, True])
def test_every_engine_reproduces_the_reference_image(all_engines, stand_in_models, engine, shape, tta):
    up = all_engines[ENGINES.index(engine)]
    scale = 3 if tta else 2
    img = np.random.default_rng(len(shape)).integers(0, 256, shape).astype(np.uint8)
    # Smooth colour, as in photos, so chroma and alpha are not all extremes that clip anyway.
    img = np.clip(img.astype(int) // 4 + 96, 0, 255).astype(np.uint8)
    out = up.upscale_array(img, scale, tta)
    expected = reference.upscale_array(stand_in_models[scale], img, scale, tta)
    assert out.shape == expected.shape == (29 * scale, 40 * scale) + shape[2:] and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - expected)
    assert diff.max() <= 1  # float rounding may flip a tie
    assert (diff > 0).mean() < 0.01  # ... and only rarely


def test_reference_colour_is_the_display_map_of_the_parts(stand_in_models):
    """The reference's RGB is its luma and MATLAB bicubic chroma through ycbcr_to_rgb, rounded."""
    from fsrcnn.color import rgb_to_ycbcr, to_uint8, ycbcr_to_rgb
    from fsrcnn.imresize import imresize

    img = np.random.default_rng(4).integers(0, 256, (11, 13, 3)).astype(np.uint8)
    ycc = rgb_to_ycbcr(img)
    y = reference.upscale_luma(stand_in_models[2], ycc[..., 0] / 255.0, 2) * 255.0
    parts = np.stack([y, imresize(ycc[..., 1], 2), imresize(ycc[..., 2], 2)], axis=-1)
    np.testing.assert_array_equal(reference.upscale_array(stand_in_models[2], img, 2), to_uint8(ycbcr_to_rgb(parts)))


@pytest.mark.parametrize("engine", ENGINES)
def test_the_network_of_each_engine_is_the_keras_model(stand_in_models, engine):
    """Each engine's forward pass (the sub-pixel rewrite of the deconvolution) computes the same function."""
    scale = 3
    weights = Weights.from_model(stand_in_models[scale])
    x = np.random.default_rng(0).random((1, 13, 10, 1)).astype(np.float32)
    out = engines.load(engine)(weights, scale, False, "luma")(x)
    np.testing.assert_allclose(out, np.asarray(stand_in_models[scale](x))[0, :, :, 0], atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind,shape", [("luma", (35, 30)), ("gray", (35, 30)), ("rgb", (35, 30, 3)),
                                        ("rgba", (35, 30, 4))])
def test_program_contract(stand_in_models, engine, kind, shape):
    weights = Weights.from_model(stand_in_models[2])
    block = np.random.default_rng(1).random((1, 35, 30, engines.CHANNELS[kind])).astype(np.float32) * 200
    out = engines.load(engine)(weights, 2, False, kind)(block)
    assert out.shape == (70, 60) + shape[2:]
    assert out.dtype == (np.float32 if kind == "luma" else np.uint8)


def test_unknown_engine_and_kind_are_refused():
    with pytest.raises(ValueError, match="engine"):
        engines.load("tflite")
    with pytest.raises(ValueError, match="kind"):
        engines.plan("cmyk")
