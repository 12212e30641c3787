import io

import numpy as np
import pytest
from PIL import Image

from fsrcnn.degradations import apply_spec, jpeg_bytes
from fsrcnn.imresize import degrade
from fsrcnn.quality import (
    BLOCKINESS_THRESHOLD,
    NOISE_THRESHOLD,
    blockiness,
    choose,
    image_noise,
    jpeg_quality,
    scaled_table,
)
from helpers import synthetic_photo

# A photo-like LR image: shading, edges and texture, shrunk with the standard degradation.
LR = degrade(synthetic_photo(384, seed=5), 2)


def _jpeg_file(img, quality) -> io.BytesIO:
    return io.BytesIO(jpeg_bytes(img, quality))


def _png_file(img) -> io.BytesIO:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    buf.seek(0)
    return buf


def test_the_quality_scaling_is_libjpegs():
    # Pillow's libjpeg is the independent reference: its luma table at each quality.
    for q in (5, 25, 50, 72, 90, 100):
        written = Image.open(_jpeg_file(LR, q)).quantization[0]
        np.testing.assert_array_equal(scaled_table(q), np.asarray(written))


@pytest.mark.parametrize("quality", [10, 30, 50, 65, 75, 85, 90, 95, 98])
def test_jpeg_quality_is_read_from_the_file(quality):
    assert abs(jpeg_quality(Image.open(_jpeg_file(LR, quality))) - quality) <= 5


def test_lossless_files_have_no_jpeg_quality():
    assert jpeg_quality(Image.open(_png_file(LR))) is None


def test_block_edges_of_a_decoded_jpeg_are_found_wherever_the_grid_lies():
    y = lambda img: img @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    clean = blockiness(y(LR))
    assert clean < BLOCKINESS_THRESHOLD
    decoded = apply_spec(LR, "jpeg40")
    assert blockiness(y(decoded)) > BLOCKINESS_THRESHOLD
    assert blockiness(y(decoded[3:, 5:])) > BLOCKINESS_THRESHOLD  # cropped: the grid moved


def test_noise_is_measured_in_chroma_and_texture_does_not_count():
    assert image_noise(LR) < NOISE_THRESHOLD
    assert image_noise(apply_spec(LR, "noise5")) > NOISE_THRESHOLD
    assert image_noise(apply_spec(LR, "noise5")) == pytest.approx(
        image_noise(apply_spec(LR, "noise5", seed=9)), rel=0.1)


def test_auto_picks_photo_for_a_q50_jpeg_and_clean_for_a_png():
    q50 = choose(_jpeg_file(LR, 50), None)
    assert q50.model == "photo" and "JPEG quality ≈ 50" in q50.reason
    assert choose(_jpeg_file(LR, 100), None).model == "clean"
    # Photos24 put the crossover at quality 90: lightly compressed JPEGs keep the sharper clean weights.
    assert choose(_jpeg_file(LR, 85), None).model == "photo"
    assert choose(_jpeg_file(LR, 95), None).model == "clean"
    assert choose(_png_file(LR), LR).model == "clean"
    # A decoded JPEG saved as PNG (a screenshot, a re-save) still shows its blocks; a noisy PNG its noise.
    resaved = apply_spec(LR, "jpeg40")
    assert choose(_png_file(resaved), resaved).model == "photo"
    noisy = apply_spec(LR, "noise5")
    assert choose(_png_file(noisy), noisy).model == "photo"


def test_asked_for_models_are_kept_and_bad_names_refused():
    assert choose(_jpeg_file(LR, 50), None, "clean").model == "clean"
    assert choose(_png_file(LR), LR, "Photo").model == "photo"
    with pytest.raises(ValueError, match="auto, clean, photo"):
        choose(_png_file(LR), LR, "sharp")


def test_lossless_training_photos_are_clean_and_their_noisy_copies_are_not(data_dir):
    from fsrcnn.images import list_images, read_rgb_or_gray
    from fsrcnn.imresize import modcrop

    paths = list_images(data_dir / "Photos24")[:8]
    for path in paths:
        lr = degrade(modcrop(read_rgb_or_gray(path), 2), 2)
        assert choose(_png_file(lr), lr).model == "clean", path.name
        noisy = apply_spec(lr, "noise5")
        assert choose(_png_file(noisy), noisy).model == "photo", path.name
