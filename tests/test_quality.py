import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fsrcnn.degradations import apply_spec, jpeg_bytes
from fsrcnn.imresize import degrade
from fsrcnn.quality import (
    CLEAN,
    CLEAN_FROM_QUALITY,
    LIGHT,
    LIGHT_FROM_QUALITY,
    LIGHT_NOISE_BELOW,
    NOISE_THRESHOLD,
    PHOTO,
    PHOTO_BELOW_QUALITY,
    choose,
    image_noise,
    jpeg_quality,
)
from helpers import PICTURES, synthetic_photo

# A photo-like LR image: shading, edges and texture, shrunk with the standard degradation.
LR = degrade(synthetic_photo(384, seed=5), 2)


def _jpeg_file(img, quality) -> io.BytesIO:
    return io.BytesIO(jpeg_bytes(img, quality))


def _png_file(img) -> io.BytesIO:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    buf.seek(0)
    return buf


@pytest.mark.parametrize("quality", [10, 30, 50, 65, 75, 85, 90, 95, 98])
def test_jpeg_quality_is_read_from_the_file(quality):
    assert abs(jpeg_quality(Image.open(_jpeg_file(LR, quality))) - quality) <= 5


def test_lossless_files_have_no_jpeg_quality():
    assert jpeg_quality(Image.open(_png_file(LR))) is None


def test_a_decoded_jpeg_in_a_lossless_file_is_banded_by_the_quality_it_was_saved_at():
    for q, band in ((40, PHOTO), (LIGHT_FROM_QUALITY + 5, LIGHT), (CLEAN_FROM_QUALITY + 2, CLEAN)):
        resaved = apply_spec(LR, f"jpeg{q}")
        choice = choose(_png_file(resaved), resaved)
        assert choice.model == band and "decoded JPEG" in choice.reason, (q, choice)
    # Without the light weights, as for JPEG files: photo below the quality where photo and clean tie.
    resaved = apply_spec(LR, f"jpeg{LIGHT_FROM_QUALITY + 5}")
    assert choose(_png_file(resaved), resaved, "auto", (CLEAN, PHOTO)).model == PHOTO


@pytest.mark.parametrize("kind", sorted(PICTURES))
def test_auto_keeps_clean_pictures_of_every_kind_on_the_clean_weights(kind):
    # Line art, screentone, pixel art and screenshots have sharp steps on an 8-pixel grid; none is a JPEG.
    picture = PICTURES[kind]()
    choice = choose(_png_file(picture), picture)
    assert choice.model == CLEAN, choice


def test_noise_is_measured_in_chroma_and_texture_does_not_count():
    assert image_noise(LR) < NOISE_THRESHOLD
    assert image_noise(apply_spec(LR, "noise5")) > NOISE_THRESHOLD
    assert image_noise(apply_spec(LR, "noise5")) == pytest.approx(
        image_noise(apply_spec(LR, "noise5", seed=9)), rel=0.1)


def slide(n=384):
    """A presentation slide: a white page, saturated shapes and black text, and one grey panel."""
    im = Image.new("RGB", (n, n), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((20, 20, n - 20, 70), fill=(0, 0, 255))
    draw.ellipse((220, 260, 360, 370), fill=(255, 255, 0))
    draw.rectangle((20, 280, 180, 370), fill=(150, 160, 170))
    for row in range(90, 260, 20):
        draw.text((30, row), "The quick brown fox jumps over 0123456789", fill=(0, 0, 0))
    return np.asarray(im)


def test_noise_cut_off_at_white_and_black_does_not_hide_a_noisy_screenshot():
    # Noise on a white page is clipped on one side and reads weaker: the estimate comes from the rest.
    clean, noisy = slide(), apply_spec(slide(), "noise5")
    assert image_noise(noisy) == pytest.approx(image_noise(apply_spec(LR, "noise5")), rel=0.15)
    assert choose(_png_file(noisy), noisy).model == LIGHT
    assert choose(_png_file(clean), clean).model == CLEAN


def test_auto_picks_photo_for_a_q50_jpeg_and_clean_for_a_png():
    q50 = choose(_jpeg_file(LR, 50), None)
    assert q50.model == PHOTO and "JPEG quality ≈ 50" in q50.reason
    assert choose(_jpeg_file(LR, 100), None).model == CLEAN
    assert choose(_png_file(LR), LR).model == CLEAN
    # A decoded JPEG saved as PNG (a screenshot, a re-save) still shows its blocks; a noisy PNG its noise.
    resaved = apply_spec(LR, "jpeg40")
    assert choose(_png_file(resaved), resaved).model == PHOTO
    noisy = apply_spec(LR, "noise5")
    assert choose(_png_file(noisy), noisy, "auto", (CLEAN, PHOTO)).model == PHOTO


def test_noisy_lossless_files_get_the_light_photo_weights_up_to_moderate_noise():
    assert image_noise(apply_spec(LR, "noise5")) < LIGHT_NOISE_BELOW < image_noise(apply_spec(LR, "noise8"))
    for spec, model in (("noise5", LIGHT), ("noise8", PHOTO)):
        noisy = apply_spec(LR, spec)
        choice = choose(_png_file(noisy), noisy)
        assert choice.model == model and "lossless file with noise" in choice.reason, spec
    gray = apply_spec(LR[..., 1], "noise8")  # gray noise is told from texture less surely: the photo weights
    assert choose(_png_file(gray), gray).model == PHOTO


def test_auto_bands_jpegs_by_quality_among_the_installed_weights():
    def auto(q, installed=(CLEAN, PHOTO, LIGHT)):
        return choose(_jpeg_file(LR, q), None, "auto", installed)

    low, high = LIGHT_FROM_QUALITY, CLEAN_FROM_QUALITY
    bands = [auto(q).model for q in (30, low - 1, low, high - 1, high, 100)]
    assert bands == [PHOTO, PHOTO, LIGHT, LIGHT, CLEAN, CLEAN]
    assert "light photo model" in auto(low).reason
    # Without the light weights, the photo weights below the quality where they tie with the clean ones.
    old = (CLEAN, PHOTO)
    assert [auto(q, old).model for q in (low, PHOTO_BELOW_QUALITY - 1, PHOTO_BELOW_QUALITY)] == [PHOTO, PHOTO, CLEAN]
    # With the light weights only, they stand in for the photo ones; with none, auto says why it stays clean.
    assert auto(30, (CLEAN, LIGHT)).model == LIGHT
    fallback = auto(30, (CLEAN,))
    assert fallback.model == CLEAN and "not installed" in fallback.reason
    noisy = apply_spec(LR, "noise5")
    assert choose(_png_file(noisy), noisy, "auto", (CLEAN, LIGHT)).model == LIGHT


def test_asked_for_models_are_kept_and_bad_names_refused():
    assert choose(_jpeg_file(LR, 50), None, "clean").model == CLEAN
    assert choose(_png_file(LR), LR, "Photo").model == PHOTO
    with pytest.raises(ValueError, match="auto, clean, photo"):
        choose(_png_file(LR), LR, "sharp")
    with pytest.raises(ValueError, match="not installed"):
        choose(_png_file(LR), LR, "photo", (CLEAN,))


def test_asking_for_photo_gets_the_photo_weights_that_suit_the_file():
    assert choose(_jpeg_file(LR, LIGHT_FROM_QUALITY - 1), None, "photo").model == PHOTO
    light = choose(_jpeg_file(LR, CLEAN_FROM_QUALITY), None, "photo")  # above auto's clean band too: as asked
    assert light.model == LIGHT and "as asked" in light.reason
    assert choose(_png_file(LR), LR, "photo").model == PHOTO  # no quality to go by: the photo weights
    assert choose(_png_file(LR), LR, "photo", (CLEAN, LIGHT)).model == LIGHT
    assert choose(_jpeg_file(LR, 95), None, "photo", (CLEAN, PHOTO)).model == PHOTO


def test_lossless_training_photos_are_clean_and_their_noisy_copies_are_not(data_dir):
    from fsrcnn.images import list_images, read_rgb_or_gray
    from fsrcnn.imresize import modcrop

    paths = list_images(data_dir / "Photos24")[:8]
    for path in paths:
        lr = degrade(modcrop(read_rgb_or_gray(path), 2), 2)
        assert choose(_png_file(lr), lr).model == CLEAN, path.name
        noisy = apply_spec(lr, "noise5")
        assert choose(_png_file(noisy), noisy).model in (PHOTO, LIGHT), path.name
