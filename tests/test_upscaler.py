"""The inference class: sizes, tiling, engine and device choice, models, images in and out."""
import shutil

import numpy as np
import pytest
from PIL import Image

from fsrcnn.images import open_image
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.model import luma_forward
from fsrcnn.upscaler import Upscaler, WeightsError, bicubic_array, upscale_image
from helpers import as_file, synthetic_photo


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("h,w", [(1, 1), (1, 9), (5, 3), (33, 70)])
def test_output_size_is_exactly_scale_times_input(stand_in_upscaler, scale, h, w):
    rgb = np.random.default_rng(h * w).integers(0, 256, (h, w, 3)).astype(np.uint8)
    assert stand_in_upscaler.upscale_array(rgb, scale).shape == (h * scale, w * scale, 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fast_tiled_path_equals_the_plain_model(stand_in_upscaler, stand_in_models, scale):
    y = np.random.default_rng(scale).random((45, 71)).astype(np.float32)
    reference = luma_forward(stand_in_models[scale], y, scale)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y, scale), reference, atol=1e-4)


@pytest.mark.parametrize("tta", [False, True])
def test_tiled_equals_untiled(stand_in_weights, tta):
    y = np.random.default_rng(0).random((70, 53)).astype(np.float32)
    whole = Upscaler([3], stand_in_weights, tile=1000).upscale_luma(y, 3, tta)
    for tile in (7, 16, 50):
        tiled = Upscaler([3], stand_in_weights, tile=tile).upscale_luma(y, 3, tta)
        assert np.abs(tiled - whole).max() < 1e-3 / 255 * 255  # 1e-3 on the 0..1 scale


def test_tiles_join_seamlessly_in_colour(stand_in_weights):
    rgba = np.random.default_rng(2).integers(0, 256, (37, 29, 4)).astype(np.uint8)
    whole = Upscaler([4], stand_in_weights, tile=1000).upscale_array(rgba, 4)
    tiled = Upscaler([4], stand_in_weights, tile=8).upscale_array(rgba, 4)
    assert np.abs(whole.astype(int) - tiled).max() <= 1  # equal up to a rounding tie


def test_the_cpu_engine_gives_the_same_pixels_whatever_the_tiling():
    # One dynamic-shape program serves every block, so full tiles, edge tiles and the crops of the
    # app's detail view are computed alike, bit for bit (a static-shape copy for full tiles rounded
    # a few values of a photo this size differently).
    rgb = np.asarray(Image.fromarray(synthetic_photo(160, seed=4)).resize((900, 700), Image.Resampling.BICUBIC))
    whole = Upscaler([3], tile=1024, engine="openvino").upscale_array(rgb, 3)
    np.testing.assert_array_equal(Upscaler([3], tile=512, engine="openvino").upscale_array(rgb, 3), whole)


def test_engine_choice(stand_in_weights, monkeypatch):
    from fsrcnn.upscaler import pick_engine

    assert pick_engine("/CPU:0") == "openvino" and pick_engine("/GPU:0") == "xla"
    assert "OpenVINO" in Upscaler([2], stand_in_weights).device_name
    assert Upscaler([2], stand_in_weights, engine="xla").device_name == "CPU (XLA)"
    with pytest.raises(ValueError, match="engine"):
        pick_engine("/CPU:0", "tflite")
    with pytest.raises(ValueError, match="CPU only"):
        pick_engine("/GPU:0", "openvino")
    monkeypatch.setitem(__import__("sys").modules, "openvino", None)  # as if not installed
    assert pick_engine("/CPU:0") == "xla"


def test_bicubic_baseline_keeps_mode_and_size():
    assert bicubic_array(np.zeros((5, 7), np.uint8), 3).shape == (15, 21)
    assert bicubic_array(np.zeros((5, 7, 4), np.uint8), 2).shape == (10, 14, 4)


def test_progress_reports_every_pass(stand_in_weights):
    up = Upscaler([2], stand_in_weights, tile=10)
    calls = []
    up.upscale_luma(np.zeros((25, 12), np.float32), 2, tta=True, progress=lambda d, t: calls.append((d, t)))
    total = up.passes((25, 12), tta=True)
    assert total == 6 * 8 and calls[-1] == (total, total)
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:], strict=False))


@pytest.mark.parametrize(
    "make,mode_out",
    [
        (lambda a: Image.fromarray(a), "RGB"),
        (lambda a: Image.fromarray(a).convert("L"), "L"),
        (lambda a: Image.fromarray(a).convert("RGBA"), "RGBA"),
        (lambda a: Image.fromarray(a).convert("LA"), "LA"),
        (lambda a: Image.fromarray(a).convert("P"), "RGB"),
        (lambda a: Image.fromarray(a).convert("CMYK"), "RGB"),
        (lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257).convert("I;16"), "L"),
        (lambda a: Image.fromarray(a).convert("1"), "L"),
    ],
    ids=["RGB", "L", "RGBA", "LA", "P", "CMYK", "I;16", "1"],
)
def test_colour_modes_come_out_in_the_expected_mode(stand_in_upscaler, make, mode_out):
    im = make(synthetic_photo(20))
    out = upscale_image(stand_in_upscaler, open_image(as_file(im, "TIFF" if im.mode == "CMYK" else "PNG")), 2)
    assert out.mode == mode_out and out.size == (40, 40)


def test_transparency_is_kept(stand_in_upscaler):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, 5:, 3] = 255  # left half transparent, right half opaque
    out = np.asarray(upscale_image(stand_in_upscaler, open_image(as_file(Image.fromarray(rgba))), 2))
    assert out[:, :8, 3].max() == 0 and out[:, 12:, 3].min() == 255
    palette = Image.fromarray(rgba[..., :3]).convert("P")
    palette.info["transparency"] = 0
    assert upscale_image(stand_in_upscaler, open_image(as_file(palette, transparency=0)), 2).mode == "RGBA"


def test_trained_model_keeps_flat_gray_flat(shipped_upscaler):
    up = shipped_upscaler
    flat = np.full((16, 16), 90, np.uint8)
    out = up.upscale_array(flat, 2)
    assert out.ndim == 2 and np.abs(out.astype(int) - 90).max() <= 2


def test_exif_orientation_is_applied(stand_in_upscaler):
    im = Image.fromarray(synthetic_photo(24)[:, :12])  # 24 high, 12 wide
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    loaded = open_image(as_file(im, "JPEG", exif=exif.tobytes()))
    assert loaded.image.size == (24, 12)
    assert upscale_image(stand_in_upscaler, loaded, 2).size == (48, 24)


def test_bad_scale_and_device_are_refused(stand_in_upscaler, stand_in_weights):
    with pytest.raises(ValueError, match="scale"):
        stand_in_upscaler.upscale_array(np.zeros((4, 4, 3), np.uint8), 5)
    with pytest.raises(ValueError, match="device"):
        Upscaler([2], stand_in_weights, device="tpu")


def test_self_ensemble_is_not_worse_than_a_single_pass(shipped_upscaler):
    hr = modcrop(synthetic_photo(120, seed=5), 3)
    lr = degrade(hr, 3)
    single = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, 3), 3)[0]
    ensemble = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, 3, tta=True), 3)[0]
    assert ensemble >= single - 0.01


@pytest.fixture(scope="module")
def with_photo(stand_in_weights, tmp_path_factory):
    """A weights folder with clean x2, x3 and a photo x2 (another untrained model)."""
    import keras

    from fsrcnn.model import build_fsrcnn

    folder = tmp_path_factory.mktemp("variants")
    for s in (2, 3):
        shutil.copy(stand_in_weights / f"fsrcnn_x{s}.keras", folder)
    keras.utils.set_random_seed(7)
    model = build_fsrcnn(2)
    kernel, bias = model.get_layer("deconv").get_weights()
    model.get_layer("deconv").set_weights([np.random.default_rng(7).normal(0, 0.02, kernel.shape), bias])
    model.save(folder / "fsrcnn_photo_x2.keras")
    return folder


def test_a_file_of_another_scale_is_refused(stand_in_weights, tmp_path):
    shutil.copy(stand_in_weights / "fsrcnn_x4.keras", tmp_path / "fsrcnn_x2.keras")
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras holds an x4 model"):
        Upscaler([2], tmp_path)


def test_models_load_when_their_files_exist(with_photo, stand_in_weights):
    assert Upscaler([2, 3], stand_in_weights).variants == ("clean",)  # no photo files: clean only
    up = Upscaler([2, 3], with_photo, tile=16)
    assert up.variants == ("clean", "photo") and up.scales == (2, 3)
    rgb = synthetic_photo(20)
    clean, photo = up.upscale_array(rgb, 2), up.upscale_array(rgb, 2, model="photo")
    assert clean.shape == photo.shape == (40, 40, 3) and np.abs(clean.astype(int) - photo).max() > 0
    np.testing.assert_array_equal(clean, up.upscale_array(rgb, 2, model="clean"))
    loaded = open_image(as_file(Image.fromarray(rgb)))
    np.testing.assert_array_equal(np.asarray(upscale_image(up, loaded, 2, model="photo")), photo)


def test_asking_for_a_model_that_is_not_loaded_is_a_clear_error(with_photo, stand_in_weights):
    up = Upscaler([2, 3], with_photo, tile=16)
    with pytest.raises(ValueError, match="photo model for x3 is not loaded.*fsrcnn_photo_x3.keras"):
        up.upscale_array(np.zeros((4, 4, 3), np.uint8), 3, model="photo")
    with pytest.raises(ValueError, match="photo model for x2 is not loaded"):
        Upscaler([2], stand_in_weights).upscale_luma(np.zeros((4, 4), np.float32), 2, model="photo")
    with pytest.raises(ValueError, match="unknown model"):
        up.upscale_array(np.zeros((4, 4, 3), np.uint8), 2, model="anime")


def test_models_can_be_given_in_memory(stand_in_models):
    up = Upscaler(models={2: stand_in_models[2], ("photo", 2): stand_in_models[2]}, tile=16)
    assert up.scales == (2,) and up.variants == ("clean", "photo")
    y = np.random.default_rng(0).random((10, 12)).astype(np.float32)
    np.testing.assert_array_equal(up.upscale_luma(y, 2), up.upscale_luma(y, 2, model="photo"))



@pytest.mark.parametrize("engine", ["openvino", "xla"])
def test_released_buffers_come_back_with_the_same_pixels(stand_in_weights, engine):
    rgb = np.random.default_rng(5).integers(0, 256, (40, 52, 3)).astype(np.uint8)
    upscaler = Upscaler([2], stand_in_weights, tile=32, engine=engine)
    upscaler.warm_up(tta=False)  # compiles, then releases the warm-up's buffers
    first = upscaler.upscale_array(rgb, 2)
    upscaler.release_memory()
    np.testing.assert_array_equal(upscaler.upscale_array(rgb, 2), first)
