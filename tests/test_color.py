import numpy as np

from fsrcnn.color import gray_to_y, rgb_to_y, rgb_to_ycbcr, to_uint8, y_to_gray, ycbcr_to_rgb


def test_luma_range_matches_bt601_studio_swing():
    assert rgb_to_y(np.array([0, 0, 0])) == np.float32(16.0)
    assert abs(rgb_to_y(np.array([255, 255, 255])) - 235.0) < 1e-4
    assert abs(rgb_to_y(np.array([255, 0, 0])) - (16 + 65.481)) < 1e-4


def test_ycbcr_round_trip_is_exact_after_rounding():
    rgb = np.random.default_rng(0).integers(0, 256, (50, 40, 3)).astype(np.uint8)
    back = to_uint8(ycbcr_to_rgb(rgb_to_ycbcr(rgb)))
    np.testing.assert_array_equal(back, rgb)


def test_y_channel_of_ycbcr_is_rgb_to_y():
    rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3))
    np.testing.assert_allclose(rgb_to_ycbcr(rgb)[..., 0], rgb_to_y(rgb), atol=1e-4)


def test_gray_is_rgb_with_equal_channels():
    g = np.arange(256, dtype=np.uint8)
    np.testing.assert_allclose(gray_to_y(g), rgb_to_y(np.stack([g, g, g], -1)), atol=1e-4)
    np.testing.assert_array_equal(to_uint8(y_to_gray(gray_to_y(g))), g)


def test_to_uint8_rounds_half_up_and_clips():
    np.testing.assert_array_equal(to_uint8(np.array([-3.0, 0.49, 0.5, 254.5, 300.0])), [0, 0, 1, 255, 255])
