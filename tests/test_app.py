"""The app's event functions (fsrcnn/events.py) and app.py's wiring, called directly (no server)."""
import os

import numpy as np
import pytest
from PIL import Image

from fsrcnn import view
from fsrcnn.upscaler import bicubic_array
from helpers import pixels, synthetic_photo, write


@pytest.fixture(scope="module")
def app_module():
    import app

    return app


@pytest.fixture(scope="module")
def events(app_module):
    """fsrcnn.events, once app.py has quieted Gradio and TensorFlow (as it does before they load)."""
    from fsrcnn import events

    return events


@pytest.fixture(scope="module")
def page(app_module, demo):
    """The page's components (fsrcnn.page.layout), built in a Blocks of their own: events return dicts keyed by them."""
    import gradio as gr

    from fsrcnn.page import layout

    with gr.Blocks():
        return layout(demo)


def in_order(answer: dict, components: list) -> list:
    """An event's dict as the positional values its outputs list gives API clients (None where skipped)."""
    return [answer.get(c) for c in components]


def no_progress(*args, **kwargs):
    pass


def record(path):
    return {"path": str(path), "orig_name": os.path.basename(path)}


@pytest.mark.parametrize("mode", ["upscale", "compare"])
def test_app_handler_yields_the_detail_first_and_the_download_last(events, page, demo, tmp_path, mode):
    src = write(tmp_path, synthetic_photo(133))
    steps = list(events.handler(page, demo, mode)(record(src), 3, True, progress=no_progress))
    assert len(steps) == 2
    (overview, *crops, slider, download, report, state), last = (in_order(step, page.results) for step in steps)
    assert download is None and "being computed" in report  # the detail comes before the full result
    assert Image.open(overview).format == "JPEG" and crops[3] is None  # no photo model here
    side = view.DETAIL if mode == "upscale" else 132  # compare: the whole 132-pixel original fits in a crop
    assert all(Image.open(c).size == (side, side) for c in crops if c is not None)
    assert slider == (crops[1], crops[4])  # bicubic and the best, the same region
    *shown, download, report, state = last
    assert shown == [overview, *crops, slider]  # the same files, not encoded again
    size = (399, 399) if mode == "upscale" else (132, 132)
    assert Image.open(download).size == size and download.endswith("_x3_ensemble.png")
    assert ("PSNR" in report) == (mode == "compare")
    captions = events.show_captions(page)(state)
    assert captions[page.download].label == f"Download {os.path.basename(download)}"
    assert captions[page.titles["fsrcnn"]].startswith("FSRCNN")  # titles above the crops, not on them


def test_app_handler_turns_errors_into_messages(events, page, demo, tmp_path):
    import gradio as gr

    (tmp_path / "notes.txt").write_text("hello")
    for image, scale, message in [(None, 2, "upload a photo"),
                                  (str(tmp_path / "notes.txt"), 2, "notes.txt: not an image"),
                                  (write(tmp_path, synthetic_photo(8)), 7, "scale must be one of")]:
        with pytest.raises(gr.Error, match=message):
            list(events.handler(page, demo, "upscale")(image, scale, False, progress=no_progress))


def test_app_click_and_zoom_move_every_crop(events, page, demo, tmp_path):
    import gradio as gr

    src = write(tmp_path, synthetic_photo(300))
    state = list(events.handler(page, demo, "upscale")(record(src), 2, True, progress=no_progress))[-1][page.job]
    click = gr.SelectData(None, {"index": [40, 250], "value": None})
    overview, *crops, slider, moved = in_order(events.mover(page, demo)(state, 1, click), page.detail)
    job = demo.job(state["token"])
    crop = view.crop_at(view.to_photo((40, 250), job.overview.size, job.lr_size), job.lr_size, 2, demo.margin(2))
    full = bicubic_array(synthetic_photo(300), 2)[crop.out.slices()]
    np.testing.assert_array_equal(pixels(crops[1]), full)
    assert moved["args"]["centre"] == job.centre and slider == (crops[1], crops[4])
    zoomed = events.zoomer(page, demo)(moved, 2)[page.job]
    assert zoomed["zoom"] == 2 and zoomed["args"]["centre"] == job.centre
    assert events.mover(page, demo)(None, 1, click) == {}  # nothing to move yet: nothing changes, no error


def test_app_reset_clears_every_result_and_names_a_bad_file_at_once(events, page, demo, tmp_path):
    reset = events.resetter(page, demo)
    good = write(tmp_path, synthetic_photo(40), name="good.png")
    (tmp_path / "bad.png").write_bytes(b"not an image at all")
    for image, message in [(record(good), "good.png*: 40×40 pixels (0.0 megapixels) → 80×80 at x2"),
                           (record(tmp_path / "bad.png"), "bad.png: not an image file"),
                           (None, "Pick a photo")]:
        overview, *crops, slider, download, report, state = in_order(reset(image, "upscale", 2), page.results)
        assert message in report
        assert overview is None and state is None and all(c.value is None for c in crops)
        assert slider.value is None and download.value is None and download.interactive is False


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
