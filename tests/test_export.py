"""The exported files (fsrcnn.export) in the runtimes they are for, against the reference."""
import hashlib

import numpy as np
import pytest

from fsrcnn import cli, reference
from fsrcnn.export import FORMATS, export
from fsrcnn.export.opencv import FULL_TO_STUDIO

SCALE = 3


@pytest.fixture(scope="module")
def files(stand_in_weights, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return {fmt: export(SCALE, "clean", fmt, folder / f"x{SCALE}{f.suffix}", stand_in_weights)
            for fmt, f in FORMATS.items()}


@pytest.fixture(scope="module")
def luma_case(stand_in_models):
    y = np.random.default_rng(5).random((23, 31)).astype(np.float32)  # not square, not a tile multiple
    return y, reference.upscale_luma(stand_in_models[SCALE], y, SCALE)


def test_onnx_luma_in_onnxruntime(files, luma_case):
    import onnxruntime as ort

    y, expected = luma_case
    session = ort.InferenceSession(str(files["onnx"]), providers=["CPUExecutionProvider"])
    out = session.run(None, {"y": y[None, None]})[0]
    assert out.shape == (1, 1) + expected.shape
    np.testing.assert_allclose(out[0, 0], expected, atol=1e-5)
    other = np.random.default_rng(6).random((12, 9)).astype(np.float32)  # the size is dynamic
    assert session.run(None, {"y": other[None, None]})[0].shape == (1, 1, 36, 27)


def test_onnx_luma_in_openvino(files, luma_case):
    import openvino as ov

    y, expected = luma_case
    compiled = ov.Core().compile_model(str(files["onnx"]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    np.testing.assert_allclose(compiled({0: y[None, None]})[0][0, 0], expected, atol=1e-5)


def test_onnx_luma_in_opencv_dnn(files, luma_case):
    cv2 = pytest.importorskip("cv2")
    y, expected = luma_case
    net = cv2.dnn.readNetFromONNX(str(files["onnx"]))
    net.setInput(y[None, None])
    np.testing.assert_allclose(net.forward()[0, 0], expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(23, 31, 3), (17, 12, 3)])
def test_onnx_rgb_is_the_upscale_command(files, stand_in_models, shape):
    import onnxruntime as ort

    img = np.random.default_rng(shape[0]).integers(0, 256, shape).astype(np.uint8)
    img = np.clip(img.astype(int) // 4 + 96, 0, 255).astype(np.uint8)  # smooth colour, as photos have
    session = ort.InferenceSession(str(files["onnx-rgb"]), providers=["CPUExecutionProvider"])
    out = session.run(None, {"rgb": img})[0]
    expected = reference.upscale_array(stand_in_models[SCALE], img, SCALE)
    assert out.dtype == np.uint8 and out.shape == expected.shape
    diff = np.abs(out.astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # float rounding may flip a tie, rarely


def test_opencv_file_gives_our_luma_in_opencv_units(files, luma_case):
    """The .pb maps OpenCV's full-range luma to ours, runs the network, and maps back."""
    cv2 = pytest.importorskip("cv2")
    y, expected = luma_case
    a, b = FULL_TO_STUDIO
    sr = cv2.dnn_superres.DnnSuperResImpl_create()  # registers dnn_superres's DepthToSpace layer
    net = cv2.dnn.readNetFromTensorflow(str(files["opencv"]))
    net.setInput(((y - b) / a)[None, None])
    np.testing.assert_allclose(net.forward()[0, 0], (expected - b) / a, atol=1e-5)
    sr.readModel(str(files["opencv"]))
    sr.setModel("fsrcnn", SCALE)
    bgr = np.random.default_rng(7).integers(0, 256, (14, 11, 3)).astype(np.uint8)
    assert sr.upsample(bgr).shape == (42, 33, 3)


def test_litert_file_in_the_litert_interpreter(files, luma_case):
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    y, expected = luma_case
    interpreter = interpreter_module.Interpreter(model_path=str(files["litert"]))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], [1, *y.shape, 1])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], y[None, :, :, None])
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(out["index"])[0, :, :, 0], expected, atol=1e-5)


def test_every_file_has_its_card(files, stand_in_weights):
    digest = hashlib.sha256((stand_in_weights / f"fsrcnn_x{SCALE}.keras").read_bytes()).hexdigest()
    for path in files.values():
        text = path.with_name(path.name + ".md").read_text()
        assert digest in text and f"scale: {SCALE}" in text and "contract" in text


def test_export_command(stand_in_weights, tmp_path, capsys):
    out = tmp_path / "x2.onnx"
    assert cli.main(["export", "--scale", "2", "--format", "onnx", "--output", str(out), "--weights-dir",
                     str(stand_in_weights)]) == 0
    assert out.exists() and (tmp_path / "x2.onnx.md").exists() and str(out) in capsys.readouterr().out
    assert cli.main(["export", "--all", str(tmp_path / "all"), "--format", "onnx-rgb", "--weights-dir",
                     str(stand_in_weights)]) == 0
    assert sorted(p.name for p in (tmp_path / "all").glob("*.onnx")) == [f"fsrcnn_x{s}_rgb.onnx" for s in (2, 3, 4)]


def test_export_command_refuses_missing_options(stand_in_weights, capsys):
    assert cli.main(["export", "--scale", "2", "--weights-dir", str(stand_in_weights)]) == 2
    assert "--format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
