import math

import numpy as np
import pytest

from fsrcnn.images import list_images, read_rgb_or_gray
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import luma, psnr_ssim_y, shave
from fsrcnn.upscaler import bicubic_array


def test_psnr_of_known_error():
    ref = np.full((20, 20), 100, np.uint8)
    test = ref + 1  # gray +1 is Y + 219/255
    psnr, ssim = psnr_ssim_y(ref, test, border=2)
    assert psnr == pytest.approx(10 * math.log10(255**2 / (219 / 255) ** 2), abs=1e-3)


def test_identical_images_have_ssim_one_and_noise_lowers_it():
    rng = np.random.default_rng(0)
    ramp = np.linspace(40, 200, 32)
    ref = np.stack([np.add.outer(ramp, ramp) / 2] * 3, -1).astype(np.uint8)
    assert psnr_ssim_y(ref, ref, 0)[1] == pytest.approx(1.0)
    noisy = np.clip(ref + rng.normal(0, 20, ref.shape), 0, 255).astype(np.uint8)
    assert psnr_ssim_y(ref, noisy, 0)[1] < 0.9


def test_border_crop_ignores_the_border():
    ref = np.zeros((20, 20), np.uint8)
    test = ref.copy()
    test[:3] = 255
    assert psnr_ssim_y(ref, test, border=3)[0] == float("inf") or psnr_ssim_y(ref, test, border=3)[0] > 100
    assert psnr_ssim_y(ref, test, border=2)[0] < 30
    assert shave(np.zeros((10, 12)), 3).shape == (4, 6)


def test_images_too_small_for_ssim_are_refused_clearly():
    with pytest.raises(ValueError, match="too small"):
        psnr_ssim_y(np.zeros((14, 30), np.uint8), np.zeros((14, 30), np.uint8), border=2)


def test_luma_of_gray_and_rgb():
    assert luma(np.zeros((2, 2), np.uint8)).mean() == pytest.approx(16)
    assert luma(np.full((2, 2, 3), 255, np.uint8)).mean() == pytest.approx(235, abs=1e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_psnr_and_ssim_are_tensorflows_definitions(seed):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, (40, 53, 3)).astype(np.uint8)
    test = np.clip(ref + rng.normal(0, 12, ref.shape), 0, 255).astype(np.uint8)
    a, b = (tf.constant(shave(luma(x), 3)[..., None], tf.float32) for x in (ref, test))
    expected_psnr = float(tf.image.psnr(a, b, max_val=255.0))
    expected_ssim = float(tf.image.ssim(a, b, max_val=255.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03))
    got_psnr, got_ssim = psnr_ssim_y(ref, test, 3)
    assert got_psnr == pytest.approx(expected_psnr, abs=1e-4)
    assert got_ssim == pytest.approx(expected_ssim, abs=1e-5)


# Reference: ../shared/data/README.md (bicubic, mean over the set, this copy of the files).
BICUBIC_SET5 = {2: (33.68, 0.9305), 3: (30.40, 0.8690), 4: (28.43, 0.8113)}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_protocol_reproduces_published_bicubic_on_set5(data_dir, scale):
    scores = []
    for path in list_images(data_dir / "Set5"):
        hr = modcrop(read_rgb_or_gray(path), scale)
        scores.append(psnr_ssim_y(hr, bicubic_array(degrade(hr, scale), scale), border=scale))
    psnr, ssim = np.mean(scores, axis=0)
    assert psnr == pytest.approx(BICUBIC_SET5[scale][0], abs=0.02)
    assert ssim == pytest.approx(BICUBIC_SET5[scale][1], abs=0.0006)
