import numpy as np
import pytest

from fsrcnn.imresize import degrade, imresize, modcrop, upscale_kernel, upscale_plane

ROW = np.array([10.0, 20.0, 30.0, 40.0])


def test_upscale_by_two_matches_hand_computed_matlab_weights():
    # Output pixel 1 samples u = 0.75: taps a, a (mirrored), b (mirrored), b with cubic weights
    # 0.8671875 + 0.2265625 on a and -0.0703125 - 0.0234375 on b.
    img = np.tile(ROW, (4, 1))
    out = imresize(img, 2)
    assert out.shape == (8, 8)
    assert out[0, 0] == pytest.approx(1.09375 * 10 - 0.09375 * 20)
    # Upscaling interpolates: constant rows stay constant.
    np.testing.assert_allclose(out[:, 3], out[0, 3])


def test_downscale_by_two_is_antialiased_like_matlab():
    # Kernel widened to 8 taps: weights 0.43359375, 0.11328125, -0.03515625, -0.01171875 each side of u = 1.5.
    img = np.tile(ROW, (4, 1))
    out = imresize(img, 0.5)
    assert out.shape == (2, 2)
    expected = (
        0.43359375 * (10 + 20) + 0.11328125 * (10 + 30) - 0.03515625 * (20 + 40) - 0.01171875 * (30 + 40)
    )
    assert out[0, 0] == pytest.approx(expected)


def test_constant_image_stays_constant_at_any_scale():
    img = np.full((7, 9, 3), 77.0)
    for scale in (0.3, 0.5, 1 / 3, 2, 3, 4):
        np.testing.assert_allclose(imresize(img, scale), 77.0, atol=1e-4)


def test_output_shape_follows_matlab_ceil_rule():
    assert imresize(np.zeros((10, 7)), 1 / 3).shape == (4, 3)
    assert imresize(np.zeros((9, 6)), 1 / 3).shape == (3, 2)


def test_modcrop_and_degrade_sizes():
    hr = np.random.default_rng(0).integers(0, 256, (31, 20, 3)).astype(np.uint8)
    cropped = modcrop(hr, 3)
    assert cropped.shape == (30, 18, 3)
    lr = degrade(cropped, 3)
    assert lr.shape == (10, 6, 3) and lr.dtype == np.uint8


def test_rejects_empty_output():
    with pytest.raises(ValueError):
        imresize(np.zeros((2, 2)), output_shape=(0, 3))


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (17, 9)])
def test_fast_upscale_equals_matlab_imresize_borders_included(scale, shape):
    plane = np.random.default_rng(scale).random(shape).astype(np.float32) * 255
    expected = imresize(plane, scale)
    np.testing.assert_allclose(upscale_plane(plane, scale), expected, atol=2e-3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_kernel_as_a_conv_equals_matlab_imresize(scale):
    import tensorflow as tf

    plane = np.random.default_rng(scale).random((11, 14)).astype(np.float32) * 255
    kernel, reach = upscale_kernel(scale)
    padded = np.pad(plane, reach, mode="symmetric")[None, :, :, None]
    out = tf.nn.depth_to_space(tf.nn.conv2d(padded, kernel, 1, "VALID"), scale).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out, imresize(plane, scale), atol=2e-3)
    # Every output phase is a weighted mean: its taps sum to one.
    np.testing.assert_allclose(kernel.sum(axis=(0, 1, 2)), 1.0, atol=1e-6)
