"""In-process tests of the app's logic (fsrcnn.demo) and of app.py's event handlers, no server."""
import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from app_helpers import EXAMPLES
from conftest import synthetic_photo
from fsrcnn import demo as logic
from fsrcnn.images import ImageError
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.upscaler import bicubic_array


@pytest.fixture(scope="module")
def demo(stand_in_upscaler, tmp_path_factory):
    return logic.Demo(stand_in_upscaler, output_dir=tmp_path_factory.mktemp("demo-out"))


def write(tmp_path, arr_or_image, name="photo.png", **save_kw) -> str:
    im = arr_or_image if isinstance(arr_or_image, Image.Image) else Image.fromarray(arr_or_image)
    path = tmp_path / name
    im.save(path, **save_kw)
    return str(path)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im)


# --- upscale mode ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_upscale_gives_every_panel_at_the_output_size(demo, tmp_path, scale, tta):
    src = write(tmp_path, synthetic_photo(40)[:37])  # 40 wide, 37 high: not a multiple of any scale
    result = demo.upscale(src, scale, tta)
    expected = {logic.ORIGINAL, logic.BICUBIC, logic.FSRCNN} | ({logic.ENSEMBLE} if tta else set())
    assert set(result.panels) == expected
    assert result.input_size == (40, 37) and result.output_size == (40 * scale, 37 * scale)
    for panel in result.panels.values():
        assert panel.image.size == result.output_size
        np.testing.assert_array_equal(pixels(panel.path), np.asarray(panel.image))  # shown == saved
    assert result.best is result.panels[logic.ENSEMBLE if tta else logic.FSRCNN]
    assert all(result.panels[k].seconds >= 0 for k in expected - {logic.ORIGINAL})


def test_upscale_panels_are_what_they_claim(demo, stand_in_upscaler, tmp_path):
    rgb = synthetic_photo(30)
    result = demo.upscale(write(tmp_path, rgb), 3, tta=True)
    np.testing.assert_array_equal(np.asarray(result.panels[logic.ORIGINAL].image), rgb.repeat(3, 0).repeat(3, 1))
    np.testing.assert_array_equal(np.asarray(result.panels[logic.BICUBIC].image), bicubic_array(rgb, 3))
    np.testing.assert_array_equal(np.asarray(result.panels[logic.FSRCNN].image), stand_in_upscaler.upscale_array(rgb, 3))
    np.testing.assert_array_equal(np.asarray(result.panels[logic.ENSEMBLE].image),
                                  stand_in_upscaler.upscale_array(rgb, 3, tta=True))


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_upscale_keeps_the_image_mode(demo, tmp_path, mode):
    im = Image.fromarray(synthetic_photo(24)).convert(mode)
    result = demo.upscale(write(tmp_path, im), 2)
    assert {p.image.mode for p in result.panels.values()} == {mode}


def test_files_are_named_after_the_input_and_the_method(demo, tmp_path):
    result = demo.upscale(write(tmp_path, synthetic_photo(16), name="My holiday (1).jpg"), 4, tta=True)
    assert result.best.path.name == "My_holiday_1_x4_ensemble.png"
    assert result.panels[logic.BICUBIC].path.name == "My_holiday_1_x4_bicubic.png"
    assert result.name == "My holiday (1).jpg"


def test_report_and_labels_say_sizes_device_and_times(demo, tmp_path):
    result = demo.upscale(write(tmp_path, synthetic_photo(20)), 2, tta=True)
    report = result.report()
    assert "20×20 → 40×40" in report and demo.upscaler.device_name in report
    for title in ("Bicubic", "FSRCNN", "FSRCNN + self-ensemble"):
        assert f"| {title} |" in report
    assert result.label(logic.ORIGINAL) == "Original, enlarged by nearest neighbour"
    assert result.label(logic.FSRCNN).startswith("FSRCNN (") and result.label(logic.FSRCNN).endswith("s)")


def test_progress_goes_from_zero_to_one_through_every_pass(demo, tmp_path):
    calls = []
    # The conftest upscaler has 32-pixel tiles: a 70x40 image is 6 tiles, so 6 + 48 network passes.
    demo.upscale(write(tmp_path, synthetic_photo(70)[:40]), 2, tta=True, progress=lambda f, desc: calls.append((f, desc)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0 and 0.9 < fractions[-1] <= 1
    descs = {d for _, d in calls}
    assert {"Bicubic", "FSRCNN", "Saving PNGs"} <= descs and any("self-ensemble" in d for d in descs)
    assert len(calls) >= 1 + 6 + 1


def test_notes_of_the_reader_reach_the_report(demo, tmp_path):
    frames = [Image.fromarray(synthetic_photo(16, seed=s)) for s in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert "only the first frame" in demo.upscale(str(path), 2).report()


def test_accepts_file_objects(demo):
    buf = io.BytesIO()
    Image.fromarray(synthetic_photo(16)).save(buf, format="PNG")
    buf.seek(0)
    assert demo.upscale(buf, 2).output_size == (32, 32)


# --- compare mode ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
def test_compare_scores_each_method_against_the_original(demo, tmp_path, scale):
    hr_full = synthetic_photo(50)[:47]
    result = demo.compare(write(tmp_path, hr_full), scale, tta=True)
    hr = modcrop(hr_full, scale)
    h, w = hr.shape[:2]
    assert result.output_size == (w, h) and result.input_size == (w // scale, h // scale)
    np.testing.assert_array_equal(np.asarray(result.panels[logic.ORIGINAL].image), hr)
    expected_bicubic = bicubic_array(degrade(hr, scale), scale)
    np.testing.assert_array_equal(np.asarray(result.panels[logic.BICUBIC].image), expected_bicubic)
    psnr, ssim = psnr_ssim_y(hr, expected_bicubic, border=scale)
    assert result.panels[logic.BICUBIC].psnr == pytest.approx(psnr)
    assert result.panels[logic.BICUBIC].ssim == pytest.approx(ssim)
    for key in (logic.BICUBIC, logic.FSRCNN, logic.ENSEMBLE):
        panel = result.panels[key]
        assert panel.image.size == (w, h) and np.isfinite(panel.psnr) and -1 <= panel.ssim <= 1
        assert f"{panel.psnr:.2f} dB" in result.label(key)
    report = result.report()
    assert "| Method | PSNR (dB) | SSIM | Time |" in report and f"{psnr:.2f}" in report
    assert ("cropped from" in report) == ((h, w) != hr_full.shape[:2])


def test_compare_without_ensemble_has_three_panels(demo, tmp_path):
    result = demo.compare(write(tmp_path, synthetic_photo(32)), 2, tta=False)
    assert set(result.panels) == {logic.ORIGINAL, logic.BICUBIC, logic.FSRCNN}
    assert result.best is result.panels[logic.FSRCNN]


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_compare_measures_colour_and_drops_alpha(demo, tmp_path, mode):
    im = Image.fromarray(synthetic_photo(32)).convert(mode)
    result = demo.compare(write(tmp_path, im), 2)
    assert result.panels[logic.FSRCNN].image.mode == ("L" if mode in ("L", "LA") else "RGB")
    assert ("transparency is ignored" in result.report()) == (mode != "L")


def test_compare_refuses_images_too_small_to_measure(demo, tmp_path):
    with pytest.raises(logic.InputError, match="too small to measure at x4"):
        demo.compare(write(tmp_path, synthetic_photo(18)), 4)


def test_trained_fsrcnn_beats_bicubic_on_the_examples(shipped_upscaler, tmp_path):
    demo = logic.Demo(shipped_upscaler, output_dir=tmp_path)
    for path in logic.example_paths():
        for scale in (2, 3, 4):
            result = demo.compare(path, scale, tta=(scale == 3))
            gain = result.panels[logic.FSRCNN].psnr - result.panels[logic.BICUBIC].psnr
            assert gain > 0.1, f"{path.name} x{scale}: FSRCNN only {gain:+.2f} dB over bicubic"
            if logic.ENSEMBLE in result.panels:
                assert result.panels[logic.ENSEMBLE].psnr > result.panels[logic.FSRCNN].psnr - 0.02


# --- bad requests ------------------------------------------------------------------------------

def test_missing_image_is_explained(demo):
    for nothing in (None, "", "  "):
        with pytest.raises(logic.InputError, match="upload a photo or pick one of the examples"):
            demo.upscale(nothing, 2)


@pytest.mark.parametrize("content,message", [
    (b"just some text, not pixels", "not an image file"),
    (None, "damaged or truncated"),  # a real PNG cut in half
])
def test_broken_files_are_explained_by_name(demo, tmp_path, content, message):
    if content is None:
        buf = io.BytesIO()
        Image.fromarray(synthetic_photo(64)).save(buf, format="PNG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    (tmp_path / "holiday.png").write_bytes(content)
    for run in (demo.upscale, demo.compare):
        with pytest.raises(ImageError, match=message) as err:
            run(str(tmp_path / "holiday.png"), 2)
        assert str(err.value).startswith("holiday.png: ")  # the visitor's name for it, not a temp path


def test_pixel_limit(stand_in_upscaler, tmp_path):
    demo = logic.Demo(stand_in_upscaler, max_pixels=50 * 50, output_dir=tmp_path / "out")
    with pytest.raises(ImageError, match="over the limit of"):
        demo.upscale(write(tmp_path, np.zeros((51, 50, 3), np.uint8)), 2)
    assert demo.upscale(write(tmp_path, np.zeros((50, 50, 3), np.uint8)), 2).output_size == (100, 100)


@pytest.mark.parametrize("scale,value", [(2, 2), ("3", 3), ("x4", 4), (2.0, 2)])
def test_scale_from_forms_and_clients(demo, tmp_path, scale, value):
    assert demo.upscale(write(tmp_path, synthetic_photo(8)), scale).scale == value


@pytest.mark.parametrize("scale", [5, 1, 2.5, "x", None, float("nan")])
def test_bad_scale_is_explained(demo, tmp_path, scale):
    with pytest.raises(logic.InputError, match="scale must be one of x2, x3, x4"):
        demo.upscale(write(tmp_path, synthetic_photo(8)), scale)


def test_unknown_mode(demo):
    with pytest.raises(logic.InputError, match="unknown mode"):
        demo.run("sharpen", None, 2)


def test_old_request_folders_are_removed(stand_in_upscaler, tmp_path):
    demo = logic.Demo(stand_in_upscaler, output_dir=tmp_path, keep_seconds=60)
    first = demo.upscale(write(tmp_path, synthetic_photo(8)), 2).best.path.parent
    an_hour_ago = time.time() - 3600
    os.utime(first, (an_hour_ago, an_hour_ago))
    second = demo.upscale(write(tmp_path, synthetic_photo(8)), 2).best.path.parent
    assert not first.exists() and second.exists()


def test_warm_up_leaves_results_unchanged(demo, tmp_path):
    before = demo.upscale(write(tmp_path, synthetic_photo(40)), 3, tta=True)
    demo.warm_up()
    after = demo.upscale(write(tmp_path, synthetic_photo(40)), 3, tta=True)
    for key in before.panels:
        np.testing.assert_array_equal(np.asarray(before.panels[key].image), np.asarray(after.panels[key].image))


def test_examples_are_small_redistributable_photos():
    paths = logic.example_paths()
    assert len(paths) >= 2
    attribution = (EXAMPLES / "ATTRIBUTION.md").read_text()
    for path in paths:
        with Image.open(path) as im:
            assert max(im.size) <= 512 and im.mode == "RGB"
        assert path.name in attribution


# --- app.py's handlers, called directly ----------------------------------------------------------

@pytest.fixture(scope="module")
def app_module():
    import app

    return app


def no_progress(*args, **kwargs):
    pass


@pytest.mark.parametrize("mode", ["upscale", "compare"])
def test_app_handler_returns_paths_for_every_output(app_module, demo, tmp_path, mode):
    src = write(tmp_path, synthetic_photo(33))
    # With preprocess=False the handler receives Gradio's file record; API and UI both send one.
    out = app_module.handler(demo, mode)({"path": src, "orig_name": "photo.png"}, 3, True, progress=no_progress)
    *paths, slider, download, report, captions = out
    assert len(paths) == 4 and all(os.path.isfile(p) for p in paths)
    size = (99, 99) if mode == "upscale" else (33, 33)
    assert all(Image.open(p).size == size for p in paths)
    assert slider == (paths[1], paths[3]) and download == paths[3]
    assert ("PSNR" in report) == (mode == "compare")
    assert set(captions) == {"original", "bicubic", "fsrcnn", "ensemble", "slider", "download"}


def test_app_handler_without_ensemble_leaves_its_panel_empty(app_module, demo, tmp_path):
    *paths, slider, download, _, captions = app_module.handler(demo, "upscale")(
        write(tmp_path, synthetic_photo(16)), 2, False, progress=no_progress)
    assert paths[3] is None and download == paths[2] and slider == (paths[1], paths[2])
    assert "ensemble" not in captions


def test_app_handler_turns_errors_into_messages(app_module, demo, tmp_path):
    import gradio as gr

    (tmp_path / "notes.txt").write_text("hello")
    for image, scale, message in [(None, 2, "upload a photo"), (str(tmp_path / "notes.txt"), 2, "notes.txt: not an image"),
                                  (write(tmp_path, synthetic_photo(8)), 7, "scale must be one of")]:
        with pytest.raises(gr.Error, match=message):
            app_module.handler(demo, "upscale")(image, scale, False, progress=no_progress)


def test_app_ui_exposes_the_two_modes_as_api_endpoints(app_module, demo):
    ui = app_module.build_ui(demo)
    public = {fn.api_name for fn in ui.fns.values() if fn.api_visibility == "public"}
    assert public == {"upscale", "compare"}


def test_app_defaults_to_loopback_and_no_share(app_module):
    args = app_module.parse_args([])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)


def test_app_without_weights_says_how_to_get_them(app_module, tmp_path, capsys):
    assert app_module.main(["--weights-dir", str(tmp_path)]) == 2
    assert "fsrcnn_x2.keras is missing" in capsys.readouterr().err
