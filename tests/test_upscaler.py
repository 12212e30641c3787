import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import synthetic_photo
from fsrcnn.images import open_image
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.upscaler import Upscaler, WeightsError, bicubic_array, luma_forward, save_png, upscale_image


def as_file(im: Image.Image, fmt: str = "PNG", **kw) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("h,w", [(1, 1), (1, 9), (5, 3), (33, 70)])
def test_output_size_is_exactly_scale_times_input(stand_in_upscaler, scale, h, w):
    rgb = np.random.default_rng(h * w).integers(0, 256, (h, w, 3)).astype(np.uint8)
    assert stand_in_upscaler.upscale_array(rgb, scale).shape == (h * scale, w * scale, 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fast_tiled_path_equals_the_plain_model(stand_in_upscaler, scale):
    y = np.random.default_rng(scale).random((45, 71)).astype(np.float32)
    reference = luma_forward(stand_in_upscaler.models[scale], y, scale)
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


@pytest.fixture(scope="module")
def both_engines(stand_in_weights):
    return [Upscaler(weights_dir=stand_in_weights, tile=24, engine=e) for e in ("openvino", "xla")]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_openvino_and_xla_engines_compute_the_same_thing(both_engines, scale, tta):
    rng = np.random.default_rng(scale)
    y = rng.random((29, 40)).astype(np.float32)  # two tiles across, not square: both view shapes
    ov_out, xla_out = (up.upscale_luma(y, scale, tta) for up in both_engines)
    np.testing.assert_allclose(ov_out, xla_out, atol=1e-4)
    shapes = [(29, 40, 4)] if tta else [(29, 40), (29, 40, 3), (29, 40, 4)]  # gray, RGB, RGBA
    for shape in shapes:
        img = rng.integers(0, 256, shape).astype(np.uint8)
        ov_img, xla_img = (up.upscale_array(img, scale, tta) for up in both_engines)
        assert ov_img.shape == xla_img.shape and ov_img.dtype == np.uint8
        assert np.abs(ov_img.astype(int) - xla_img).max() <= 1  # a rounding tie at most


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


def test_self_ensemble_commutes_with_flips_and_rotations(stand_in_upscaler):
    y = np.random.default_rng(1).random((21, 34)).astype(np.float32)
    out = stand_in_upscaler.upscale_luma(y, 2, tta=True)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y[:, ::-1], 2, tta=True), out[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y.T, 2, tta=True), out.T, atol=1e-5)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(np.rot90(y), 2, tta=True), np.rot90(out), atol=1e-5)
    # ... while a single pass of an untrained model does not.
    single = stand_in_upscaler.upscale_luma(y, 2)
    assert np.abs(stand_in_upscaler.upscale_luma(y[:, ::-1], 2)[:, ::-1] - single).max() > 1e-4


def test_self_ensemble_is_the_mean_of_the_eight_undone_passes(stand_in_upscaler):
    y = np.random.default_rng(3).random((19, 30)).astype(np.float32)  # not square: two view shapes
    model = stand_in_upscaler.models[3]
    views = []
    for transpose in (False, True):
        for k in range(4):
            x = np.rot90(y.T if transpose else y, k)
            out = np.rot90(luma_forward(model, np.ascontiguousarray(x), 3), -k)
            views.append(out.T if transpose else out)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y, 3, tta=True), np.mean(views, axis=0), atol=1e-4)


def test_progress_reports_every_pass(stand_in_weights):
    up = Upscaler([2], stand_in_weights, tile=10)
    calls = []
    up.upscale_luma(np.zeros((25, 12), np.float32), 2, tta=True, progress=lambda d, t: calls.append((d, t)))
    total = up.passes((25, 12), tta=True)
    assert total == 6 * 8 and calls[-1] == (total, total)
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:]))


@pytest.mark.parametrize(
    "make,mode_out",
    [
        (lambda a: Image.fromarray(a), "RGB"),
        (lambda a: Image.fromarray(a).convert("L"), "L"),
        (lambda a: Image.fromarray(a).convert("RGBA"), "RGBA"),
        (lambda a: Image.fromarray(a).convert("LA"), "LA"),
        (lambda a: Image.fromarray(a).convert("P"), "RGB"),
        (lambda a: Image.fromarray(a).convert("CMYK"), "RGB"),
        (lambda a: Image.fromarray((a[..., 0].astype(np.uint16) * 257)).convert("I;16"), "L"),
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


def test_icc_profile_is_carried_to_the_output(stand_in_upscaler, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    loaded = open_image(as_file(Image.fromarray(synthetic_photo(16)), icc_profile=icc))
    path = tmp_path / "out.png"
    save_png(upscale_image(stand_in_upscaler, loaded, 3), path)
    with Image.open(path) as saved:
        assert saved.info.get("icc_profile") == icc and saved.format == "PNG"


def test_bad_scale_and_device_are_refused(stand_in_upscaler, stand_in_weights):
    with pytest.raises(ValueError, match="scale"):
        stand_in_upscaler.upscale_array(np.zeros((4, 4, 3), np.uint8), 5)
    with pytest.raises(ValueError, match="device"):
        Upscaler([2], stand_in_weights, device="tpu")


def test_missing_or_corrupt_weights_name_the_file(tmp_path):
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras is missing"):
        Upscaler([2], tmp_path)
    (tmp_path / "fsrcnn_x2.keras").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras cannot be loaded"):
        Upscaler([2], tmp_path)


def test_shipped_weights_missing_says_how_to_restore_them(tmp_path, monkeypatch):
    monkeypatch.setattr("fsrcnn.upscaler.WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError, match=r"restore it with `git checkout -- weights/fsrcnn_x4.keras`"):
        Upscaler([4])


def test_weights_are_checked_against_recorded_checksums(stand_in_weights, tmp_path):
    import hashlib
    import shutil

    shutil.copy(stand_in_weights / "fsrcnn_x3.keras", tmp_path / "fsrcnn_x3.keras")
    good = hashlib.sha256((tmp_path / "fsrcnn_x3.keras").read_bytes()).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{good} *fsrcnn_x3.keras\n")  # sha256sum -b format
    assert Upscaler([3], tmp_path).scales == (3,)
    (tmp_path / "SHA256SUMS").write_text(f"{good}  fsrcnn_x2.keras\n")
    with pytest.raises(WeightsError, match="does not list fsrcnn_x3.keras"):
        Upscaler([3], tmp_path)
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  fsrcnn_x3.keras\n")
    with pytest.raises(WeightsError, match="fsrcnn_x3.keras is damaged or was changed"):
        Upscaler([3], tmp_path)


def test_self_ensemble_is_not_worse_than_a_single_pass(shipped_upscaler):
    hr = modcrop(synthetic_photo(120, seed=5), 3)
    lr = degrade(hr, 3)
    single = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, 3), 3)[0]
    ensemble = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, 3, tta=True), 3)[0]
    assert ensemble >= single - 0.01
