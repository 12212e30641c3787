"""The app's actions (fsrcnn.demo): the detail view, the full result, compare mode, the model choice."""
import io

import numpy as np
import pytest
from PIL import Image

from app_helpers import EXAMPLES
from fsrcnn import checks, view
from fsrcnn import demo as logic
from fsrcnn import report as reports
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.upscaler import bicubic_array
from helpers import assert_same_pixels, pixels, synthetic_photo, write

# --- the detail view ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_every_crop_is_the_same_pixels_as_the_full_result(demo, tmp_path, scale, tta):
    rgb = synthetic_photo(150)[:130]  # several 32-pixel tiles of the stand-in upscaler, both ways
    job = demo.start(logic.UPSCALE, write(tmp_path, rgb), scale, tta)
    full = {logic.FSRCNN: demo.upscaler.upscale_array(rgb, scale), logic.BICUBIC: bicubic_array(rgb, scale),
            logic.ORIGINAL: rgb.repeat(scale, 0).repeat(scale, 1)}
    if tta:
        full[logic.ENSEMBLE] = demo.upscaler.upscale_array(rgb, scale, tta=True)
    downloaded = pixels(demo.finish(job).path)
    np.testing.assert_array_equal(downloaded, full[job.best])
    # corners, borders, a tile seam, the middle: context is mirrored only at the photo's own border
    for centre in [(0, 0), (150, 130), (0, 65), (75, 0), (32, 32), (75, 65), (149, 1)]:
        detail = demo.detail(job, centre)
        assert detail.crop.out.w == min(view.DETAIL, 150 * scale)
        for key, want in full.items():
            assert_same_pixels(pixels(detail.crops[key]), want[detail.crop.out.slices()])


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_crops_of_other_image_modes(demo, tmp_path, mode):
    im = Image.fromarray(synthetic_photo(90)).convert(mode)
    job = demo.start(logic.UPSCALE, write(tmp_path, im), 2)
    full = pixels(demo.finish(job).path)
    assert Image.open(demo.finish(job).path).mode == mode  # the download keeps the mode
    crop = demo.detail(job, (20, 70))
    got = pixels(crop.crops[logic.FSRCNN])
    if mode == "LA":  # shown as RGBA: gray in three equal channels
        got = got[..., [0, 3]]
    assert_same_pixels(got, full[crop.crop.out.slices()])


def test_the_view_opens_on_the_most_detailed_region(demo, tmp_path):
    flat = np.full((400, 600, 3), 90, np.uint8)
    flat[300:360, 420:480] = synthetic_photo(60)  # the only detail in the picture
    job = demo.start(logic.UPSCALE, write(tmp_path, flat), 4)
    box = demo.detail(job).crop.lr  # 64 LR pixels at x4
    assert box.x <= 420 and 480 <= box.x + box.w + 4 and box.y <= 300 and 360 <= box.y + box.h + 4


def test_a_click_on_the_overview_moves_every_crop_there(demo, tmp_path):
    rgb = synthetic_photo(200)[:120]
    job = demo.start(logic.UPSCALE, write(tmp_path, rgb), 2, tta=True)
    # the overview is the photo itself here (under 1000 pixels): a click at (150, 40) means LR (150.5, 40.5)
    centre = view.to_photo((150, 40), job.overview.size, job.lr_size)
    detail = demo.detail(job, centre)
    lr = detail.crop.lr
    assert abs(lr.centre[0] - 150.5) <= 1 and abs(lr.centre[1] - 40.5) <= 1 or lr.y == 0
    assert {im.size for im in detail.crops.values()} == {(detail.crop.out.w, detail.crop.out.h)}
    np.testing.assert_array_equal(pixels(detail.crops[logic.ORIGINAL]),
                                  rgb[lr.slices()].repeat(2, 0).repeat(2, 1)[: detail.crop.out.h, : detail.crop.out.w])
    assert job.centre == centre  # kept, so the zoom and a re-read photo stay there
    marked = np.asarray(detail.overview)
    assert (marked != np.asarray(job.overview)).any()  # the region is drawn on the overview


def test_zoom_two_shows_half_the_region_with_each_pixel_doubled(demo, tmp_path):
    rgb = synthetic_photo(300)
    job = demo.start(logic.UPSCALE, write(tmp_path, rgb), 2)
    one, two = demo.detail(job, (150, 150), zoom=1), demo.detail(job, (150, 150), zoom=2)
    assert one.crops[logic.BICUBIC].size == two.crops[logic.BICUBIC].size == (view.DETAIL, view.DETAIL)
    assert two.crop.out.w == view.DETAIL // 2
    full = bicubic_array(rgb, 2)[two.crop.out.slices()]
    np.testing.assert_array_equal(pixels(two.crops[logic.BICUBIC]), full.repeat(2, 0).repeat(2, 1))


# --- the full result ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tta", [False, True])
def test_the_download_is_the_best_method_on_the_whole_photo(demo, stand_in_upscaler, tmp_path, scale, tta):
    src = write(tmp_path, synthetic_photo(40)[:37], name="My holiday (1).jpg")  # not a multiple of any scale
    rgb = np.asarray(Image.open(src))  # as decoded
    job, detail, outcome = demo.run(logic.UPSCALE, src, scale, tta)
    assert job.best == (logic.ENSEMBLE if tta else logic.FSRCNN)
    assert outcome.path.name == f"My_holiday_1_x{scale}_{job.best}.png"
    np.testing.assert_array_equal(pixels(outcome.path), stand_in_upscaler.upscale_array(rgb, scale, tta=tta))
    assert job.lr_size == (40, 37) and outcome.size == (40 * scale, 37 * scale)
    assert set(detail.crops) == {logic.ORIGINAL, logic.BICUBIC, logic.FSRCNN} | ({logic.ENSEMBLE} if tta else set())
    assert outcome.seconds[job.best] >= 0 and outcome.png_seconds >= 0


def test_a_photo_far_over_the_old_megapixel_limit_is_accepted(demo, tmp_path):
    big = np.asarray(Image.fromarray(synthetic_photo(128)).resize((1400, 1000)))  # 1.4 megapixels
    job = demo.start(logic.UPSCALE, write(tmp_path, big), 2)
    assert job.overview.size == (1000, 714)  # the page gets a small overview and 256-pixel crops
    assert demo.detail(job).crops[logic.FSRCNN].size == (view.DETAIL, view.DETAIL)


def test_progress_goes_from_zero_to_one_through_every_pass(demo, tmp_path):
    calls = []
    job = demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(70)[:40]), 2, tta=True)
    demo.finish(job, progress=lambda f, desc: calls.append((f, desc)))
    fractions = [f for f, _ in calls]
    # The conftest upscaler has 32-pixel tiles: a 70x40 image is 6 tiles, so 48 passes with the ensemble.
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    assert len(calls) >= 6 + 2 and any("Writing the PNG" in d for _, d in calls)


def test_accepts_file_objects(demo):
    buf = io.BytesIO()
    Image.fromarray(synthetic_photo(16)).save(buf, format="PNG")
    buf.seek(0)
    assert demo.run(logic.UPSCALE, buf, 2)[2].size == (32, 32)


# --- compare mode ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 3, 4])
def test_compare_scores_each_method_on_the_whole_image(demo, stand_in_upscaler, tmp_path, scale):
    hr_full = synthetic_photo(50)[:47]
    job, detail, outcome = demo.run(logic.COMPARE, write(tmp_path, hr_full), scale, tta=True)
    hr = modcrop(hr_full, scale)
    h, w = hr.shape[:2]
    assert job.out_size == (w, h) and job.lr_size == (w // scale, h // scale)
    lr = degrade(hr, scale)
    expected = {logic.BICUBIC: bicubic_array(lr, scale), logic.FSRCNN: stand_in_upscaler.upscale_array(lr, scale),
                logic.ENSEMBLE: stand_in_upscaler.upscale_array(lr, scale, tta=True)}
    assert set(outcome.scores) == set(expected)
    for key, want in expected.items():
        assert outcome.scores[key] == pytest.approx(psnr_ssim_y(hr, want, border=scale))
        assert_same_pixels(pixels(detail.crops[key]), want[detail.crop.out.slices()])
        assert f"{outcome.scores[key][0]:.2f} dB" in reports.caption(job, key, outcome)
    np.testing.assert_array_equal(pixels(detail.crops[logic.ORIGINAL]), hr[detail.crop.out.slices()])
    np.testing.assert_array_equal(pixels(outcome.path), expected[logic.ENSEMBLE])
    report = reports.report(job, outcome)
    assert "| Method | PSNR (dB) | SSIM | Time |" in report and "PSNR and SSIM of the whole image" in report
    assert ("cropped from" in report) == ((h, w) != hr_full.shape[:2])


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_compare_measures_colour_and_drops_alpha(demo, tmp_path, mode):
    im = Image.fromarray(synthetic_photo(32)).convert(mode)
    job, _, outcome = demo.run(logic.COMPARE, write(tmp_path, im), 2)
    assert Image.open(outcome.path).mode == ("L" if mode in ("L", "LA") else "RGB")
    assert ("transparency is ignored" in reports.report(job)) == (mode != "L")


@pytest.mark.parametrize("spec", ["jpeg50", "noise5"])
def test_compare_can_degrade_the_shrunk_photo(demo, tmp_path, spec):
    from fsrcnn.degradations import apply_spec

    hr = synthetic_photo(64)
    job = demo.start(logic.COMPARE, write(tmp_path, hr), 2, degradation=spec)
    np.testing.assert_array_equal(job.lr, apply_spec(degrade(hr, 2), spec, seed=0))
    assert checks.DEGRADATIONS[spec] in reports.report(job)


def test_trained_fsrcnn_beats_bicubic_on_the_examples(shipped_upscaler, tmp_path):
    demo = logic.Demo(shipped_upscaler, output_dir=tmp_path)
    for path in logic.example_paths():
        for scale in (2, 3, 4):
            _, _, outcome = demo.run(logic.COMPARE, path, scale, tta=(scale == 3))
            gain = outcome.scores[logic.FSRCNN][0] - outcome.scores[logic.BICUBIC][0]
            assert gain > 0.1, f"{path.name} x{scale}: FSRCNN only {gain:+.2f} dB over bicubic"
            if logic.ENSEMBLE in outcome.scores:
                assert outcome.scores[logic.ENSEMBLE][0] > outcome.scores[logic.FSRCNN][0] - 0.02


# --- the model choice ------------------------------------------------------------------------------

def test_with_only_the_clean_weights_every_choice_is_clean(demo, tmp_path):
    assert demo.models == ("clean",) and not demo.has_photo_model
    for requested in ("auto", "clean", "AUTO", None):
        job = demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(16)), 2, model=requested)
        assert job.choice.model == "clean" and "clean model" in job.choice.reason
        assert logic.PHOTO not in job.methods
    with pytest.raises(logic.InputError, match="photo model is not installed"):
        demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(16)), 2, model="photo")
    with pytest.raises(logic.InputError, match="model must be one of auto, clean, photo"):
        demo.checks.model("sharpest")


def test_with_the_photo_weights_the_photo_model_gets_a_crop_and_can_be_chosen(stand_in_weights, tmp_path):
    from fsrcnn.upscaler import Upscaler

    if "variants" not in Upscaler.__init__.__code__.co_varnames:
        pytest.skip("this Upscaler loads no weight variants")
    import shutil

    folder = tmp_path / "weights"
    folder.mkdir()
    for s in (2, 3, 4):  # the stand-in weights under both names: the plumbing is under test, not the pictures
        shutil.copy(stand_in_weights / f"fsrcnn_x{s}.keras", folder / f"fsrcnn_x{s}.keras")
    shutil.copy(stand_in_weights / "fsrcnn_x2.keras", folder / "fsrcnn_photo_x2.keras")  # for x2 only
    upscaler = Upscaler(weights_dir=folder, tile=32)
    demo = logic.Demo(upscaler, output_dir=tmp_path / "out")
    assert demo.has_photo_model
    rgb = synthetic_photo(64)
    job = demo.start(logic.UPSCALE, write(tmp_path, rgb), 2, model="photo")
    assert job.choice.model == "photo" and job.best == logic.PHOTO and logic.PHOTO in job.methods
    outcome = demo.finish(job)
    np.testing.assert_array_equal(pixels(outcome.path), upscaler.upscale_array(rgb, 2, model="photo"))
    assert outcome.path.name.endswith("_x2_photo.png")
    auto = demo.start(logic.UPSCALE, write(tmp_path, rgb), 2, model="auto")  # a clean PNG
    assert auto.choice.model == "clean" and "clean model" in auto.choice.reason
    web = demo.start(logic.UPSCALE, write(tmp_path, rgb, name="web.jpg", quality=50), 2, model="auto")
    assert web.choice.model == "photo" and web.choice.reason == "JPEG quality ≈ 50: photo model"
    x3 = demo.start(logic.UPSCALE, write(tmp_path, rgb), 3, model="auto")  # no photo weights for x3
    assert x3.choice.model == "clean" and logic.PHOTO not in x3.methods
    with pytest.raises(logic.InputError, match="photo model is not installed for x3"):
        demo.start(logic.UPSCALE, write(tmp_path, rgb), 3, model="photo")


def test_the_photo_crop_shows_the_photo_weights_that_suit_the_file(tmp_path):
    from fsrcnn.quality import LIGHT_FROM_QUALITY
    from fsrcnn.upscaler import Upscaler
    from helpers import make_two_model_weights

    upscaler = Upscaler((2,), weights_dir=make_two_model_weights(tmp_path / "w", scales=(2,), light=True), tile=32)
    demo = logic.Demo(upscaler, output_dir=tmp_path / "out")
    rgb = synthetic_photo(64)
    fine = demo.start(logic.UPSCALE, write(tmp_path, rgb, name="fine.jpg", quality=LIGHT_FROM_QUALITY), 2, tta=True)
    assert fine.choice.model == "light" and fine.photo_weights == "light" and "light photo model" in fine.choice.reason
    assert fine.title(logic.PHOTO) == "FSRCNN, light photo model"
    assert fine.title(logic.ENSEMBLE) == "FSRCNN light photo model + self-ensemble"
    detail = demo.detail(fine)
    context = fine.lr[detail.crop.context.slices()]
    np.testing.assert_array_equal(np.asarray(detail.crops[logic.PHOTO]),
                                  detail.crop.cut(upscaler.upscale_array(context, 2, model="light"), 2))
    expected = upscaler.upscale_array(fine.lr, 2, True, model="light")
    np.testing.assert_array_equal(pixels(demo.finish(fine).path), expected)
    web = demo.start(logic.UPSCALE, write(tmp_path, rgb, name="web.jpg", quality=50), 2)
    assert web.choice.model == web.photo_weights == "photo" and web.title(logic.PHOTO) == "FSRCNN, photo model"
    png = demo.start(logic.UPSCALE, write(tmp_path, rgb), 2)  # auto keeps clean; the crop shows the photo model
    assert png.choice.model == "clean" and png.photo_weights == "photo" and png.best == logic.FSRCNN


def test_a_lossless_photo_is_looked_at_once_for_both_choices(tmp_path, monkeypatch):
    from fsrcnn import quality
    from fsrcnn.upscaler import Upscaler
    from helpers import make_two_model_weights

    upscaler = Upscaler((2,), weights_dir=make_two_model_weights(tmp_path / "w", scales=(2,), light=True), tile=32)
    demo = logic.Demo(upscaler, output_dir=tmp_path / "out")
    calls = []
    measure = quality.image_noise
    monkeypatch.setattr(quality, "image_noise", lambda pixels: calls.append(1) or measure(pixels))
    job = demo.start(logic.UPSCALE, write(tmp_path, synthetic_photo(64)), 2)
    assert len(calls) == 1 and job.choice.model == "clean" and job.photo_weights == "photo"


# --- bad requests ---------------------------------------------------------------------------------

def test_examples_are_small_redistributable_photos():
    paths = logic.example_paths()
    assert len(paths) >= 2
    attribution = (EXAMPLES / "ATTRIBUTION.md").read_text()
    for path in paths:
        with Image.open(path) as im:
            assert max(im.size) <= 512 and im.mode == "RGB"
        assert path.name in attribution


def test_the_first_pages_example_is_a_detail_view_of_a_bundled_photo(demo, tmp_path):
    example = demo.render_example(tmp_path / "example")
    values, titles = example["values"], example["titles"]
    first = logic.example_paths()[0]
    assert set(titles) == {logic.ORIGINAL, logic.BICUBIC, logic.FSRCNN}
    assert titles[logic.FSRCNN] == f"{first.name} x2, FSRCNN"
    with Image.open(first) as im:
        assert pixels(values[logic.FSRCNN]).shape[:2] == (min(256, 2 * im.height), 256)
    assert values["slider"] == (values[logic.BICUBIC], values[logic.FSRCNN])
