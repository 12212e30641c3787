import io

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from fsrcnn.degradations import (
    Chain,
    apply_chain,
    apply_spec,
    degrade_hr,
    encode_spec,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    jpeg_bytes,
    parse_spec,
    poisson_noise,
)
from helpers import synthetic_photo

PHOTO = synthetic_photo(96, seed=3)


def test_chains_are_reproducible_from_their_seed():
    chain = Chain(blur_prob=0.5, noise_prob=0.8, poisson_prob=0.5, jpeg_prob=0.9, jpeg2_prob=0.5)
    runs = [degrade_hr(PHOTO, 2, chain, np.random.default_rng(s)) for s in (7, 7, 8)]
    assert runs[0].shape == (48, 48, 3) and runs[0].dtype == np.uint8
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_an_empty_chain_is_the_standard_degradation():
    from fsrcnn.imresize import degrade

    np.testing.assert_array_equal(degrade_hr(PHOTO, 3, Chain(), np.random.default_rng(0)), degrade(PHOTO, 3))


def test_jpeg_is_a_real_file_at_that_quality_with_420_chroma():
    sizes = [len(jpeg_bytes(PHOTO, q)) for q in (30, 50, 75, 95)]
    assert sizes == sorted(sizes) and sizes[0] < 0.6 * sizes[-1]
    im = Image.open(io.BytesIO(jpeg_bytes(PHOTO, 75)))
    assert im.format == "JPEG" and JpegImagePlugin.get_sampling(im) == 2  # 2 is 4:2:0
    np.testing.assert_array_equal(np.asarray(im), jpeg(PHOTO, 75))
    error = [np.abs(jpeg(PHOTO, q).astype(float) - PHOTO).mean() for q in (30, 75, 95)]
    assert error[0] > error[1] > error[2] > 0
    assert jpeg(PHOTO[..., 0], 50).ndim == 2  # gray stays gray


def test_gaussian_noise_has_its_sigma_in_colour_or_shared_by_the_channels():
    flat = np.full((200, 200, 3), 128, np.uint8)
    colour = gaussian_noise(flat, 5.0, np.random.default_rng(0)) - 128
    assert colour.std() == pytest.approx(5.0, rel=0.03)
    assert abs(np.corrcoef(colour[..., 0].ravel(), colour[..., 1].ravel())[0, 1]) < 0.05
    gray = gaussian_noise(flat, 5.0, np.random.default_rng(0), gray=True) - 128
    assert gray.std() == pytest.approx(5.0, rel=0.03)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


def test_poisson_noise_grows_with_the_signal():
    rng = np.random.default_rng(0)
    image = np.full((100, 200), 20, np.uint8)
    image[:, 100:] = 200
    image[0, 0], image[0, 1] = 1, 2  # a few distinct values, as photos have
    noise = poisson_noise(image, 1.0, rng) - image
    dark, bright = noise[1:, 2:100].var(), noise[:, 100:].var()
    assert 0 < dark < bright
    colour = poisson_noise(np.repeat(image[..., None], 3, -1), 1.0, rng, gray=True) - image[..., None]
    np.testing.assert_array_equal(colour[..., 0], colour[..., 1])


def test_blur_keeps_the_mean_and_removes_fine_detail():
    blurred = gaussian_blur(PHOTO, 1.0)
    assert blurred.mean() == pytest.approx(PHOTO.mean(), abs=0.5)
    detail = lambda x: np.abs(np.diff(np.asarray(x, float), axis=1)).mean()  # noqa: E731
    assert detail(blurred) < 0.8 * detail(PHOTO)
    np.testing.assert_array_equal(gaussian_blur(PHOTO, 0.0), PHOTO)


def test_stages_run_with_their_probabilities():
    never, always = Chain(), Chain(noise_prob=1.0, jpeg_prob=1.0)
    lr = PHOTO[::2, ::2]
    np.testing.assert_array_equal(apply_chain(lr, never, np.random.default_rng(0)), lr)
    assert not np.array_equal(apply_chain(lr, always, np.random.default_rng(0)), lr)


def test_specs_parse_apply_left_to_right_and_encode_as_the_user_would_have_them():
    assert parse_spec("jpeg75+noise3") == [("jpeg", 75.0), ("noise", 3.0)]
    assert parse_spec("") == parse_spec("none") == []
    lr = PHOTO[::2, ::2].copy()
    np.testing.assert_array_equal(apply_spec(lr, "jpeg50"), jpeg(lr, 50))
    np.testing.assert_array_equal(apply_spec(lr, "noise5", seed=1), apply_spec(lr, "noise5", seed=1))
    assert not np.array_equal(apply_spec(lr, "noise5", seed=1), apply_spec(lr, "noise5", seed=2))
    data, suffix = encode_spec(lr, "noise3+jpeg75")
    assert suffix == ".jpg" and Image.open(io.BytesIO(data)).format == "JPEG"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), apply_spec(lr, "noise3+jpeg75"))
    data, suffix = encode_spec(lr, "jpeg75+noise3")
    assert suffix == ".png"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), apply_spec(lr, "jpeg75+noise3"))
    for bad in ("jpeg", "blur2", "jpeg0", "jpeg75+"):
        with pytest.raises(ValueError, match="degradation|quality"):
            parse_spec(bad)


def test_chain_settings_are_checked():
    assert Chain.from_dict({"jpeg_quality": [40, 90]}).jpeg_quality == (40, 90)
    with pytest.raises(ValueError, match="jpeg_qualty"):
        Chain.from_dict({"jpeg_qualty": [40, 90]})
