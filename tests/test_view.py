"""The detail view's geometry (fsrcnn.view): crop boxes, their context, clicks, the starting region."""
import numpy as np
import pytest

from fsrcnn import view


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("zoom", [1, 2])
def test_a_crop_is_detail_output_pixels_on_the_lr_grid(scale, zoom):
    crop = view.crop_at((500, 300), (1000, 800), scale, margin=9, zoom=zoom)
    side = view.DETAIL // zoom
    assert (crop.out.w, crop.out.h) == (side, side)
    assert crop.out.x == crop.lr.x * scale and crop.out.y == crop.lr.y * scale
    assert crop.lr.w * scale >= side > (crop.lr.w - 1) * scale  # the fewest LR pixels that cover it
    assert abs(crop.lr.centre[0] - 500) <= 1 and abs(crop.lr.centre[1] - 300) <= 1
    c = crop.context  # the LR crop plus the margin on every side, away from the border
    assert (c.x, c.y, c.w, c.h) == (crop.lr.x - 9, crop.lr.y - 9, crop.lr.w + 18, crop.lr.h + 18)


@pytest.mark.parametrize("centre", [(0, 0), (-50, 1e9), (1e9, 3)])
def test_a_crop_stays_inside_the_photo_and_its_context_stops_at_the_border(centre):
    crop = view.crop_at(centre, (300, 200), 2, margin=9)
    for box in (crop.lr, crop.context):
        assert 0 <= box.x and box.x + box.w <= 300 and 0 <= box.y and box.y + box.h <= 200
    assert crop.context.x in (0, crop.lr.x - 9) and crop.context.y in (0, crop.lr.y - 9)
    assert crop.context.x + crop.context.w in (300, crop.lr.x + crop.lr.w + 9)


def test_a_photo_smaller_than_a_crop_is_shown_whole():
    crop = view.crop_at((5, 5), (40, 30), 3, margin=9)
    assert (crop.out.x, crop.out.y, crop.out.w, crop.out.h) == (0, 0, 120, 90)
    assert (crop.context.w, crop.context.h) == (40, 30)


def test_cut_takes_the_crop_out_of_its_contexts_result():
    scale = 3
    crop = view.crop_at((100, 60), (400, 300), scale, margin=7)
    full = np.arange(1200 * 900).reshape(900, 1200)  # a stand-in "result" whose values say where they are
    context_result = full[crop.context.y * scale:(crop.context.y + crop.context.h) * scale,
                          crop.context.x * scale:(crop.context.x + crop.context.w) * scale]
    np.testing.assert_array_equal(crop.cut(context_result, scale), full[crop.out.slices()])


def test_bad_zoom():
    with pytest.raises(ValueError, match="zoom"):
        view.crop_at((0, 0), (10, 10), 2, 5, zoom=3)


def test_clicks_on_the_overview_map_to_the_photo():
    assert view.overview_size((4032, 3024)) == (1000, 750)
    assert view.overview_size((300, 200)) == (300, 200)  # small photos are not enlarged
    assert view.to_photo((0, 0), (1000, 750), (4032, 3024)) == pytest.approx((2.016, 2.016))
    assert view.to_photo((999, 749), (1000, 750), (4032, 3024)) == pytest.approx((4029.984, 3021.984))
    box = view.to_overview(view.Box(2016, 1512, 256, 256), (1000, 750), (4032, 3024))
    assert (box.x, box.y) == (500, 375) and 63 <= box.w <= 64


def test_the_most_detailed_region_is_found():
    rng = np.random.default_rng(0)
    luma = np.full((300, 400), 128.0)
    luma[200:240, 50:90] += rng.normal(0, 40, (40, 40))  # the only texture in a flat picture
    x, y = view.most_detailed(luma, (40, 40))
    assert abs(x - 70) <= 2 and abs(y - 220) <= 2
    assert view.most_detailed(luma, (1000, 1000)) == (200, 150)  # a window larger than the picture: all of it


def test_enlarge_repeats_pixels():
    a = np.array([[1, 2], [3, 4]], np.uint8)
    np.testing.assert_array_equal(view.enlarge(a, 2), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert view.enlarge(a, 1) is a


def test_the_marker_shows_a_tiny_region_on_a_large_overview():
    from PIL import Image

    overview = Image.new("RGB", (1000, 750), (200, 200, 200))
    box = view.Box(600, 300, 6, 6)  # a 256-pixel crop of a 40-megapixel result
    marked = np.asarray(view.mark(overview, box), int)
    inside = marked[box.y : box.y + box.h, box.x : box.x + box.w]
    assert (inside == 200).all()  # the region itself untouched
    assert marked[50, 50].max() < 130  # the rest dimmed
    ring = marked[box.y - 4 : box.y + box.h + 4, box.x - 4 : box.x + box.w + 4]
    assert (np.abs(ring - (255, 210, 0)).sum(-1) == 0).sum() >= 4 * 4 * (box.w + 4)  # an outline of several pixels
    assert (np.abs(marked[box.y + 3, :100] - (255, 210, 0)).sum(-1) == 0).all()  # a guide line to the left edge
