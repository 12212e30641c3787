"""`python app.py` on a free loopback port, driven through its API with gradio_client."""
import numpy as np
import pytest
from PIL import Image
from test_bad_inputs import png_header_only

from app_helpers import EXAMPLES

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError, ValidationError  # noqa: E402

CAT = EXAMPLES / "cat.png"  # 256 x 170


@pytest.fixture(scope="module")
def client(live_app, tmp_path_factory):
    return Client(live_app, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def png_pixels(path) -> np.ndarray:
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as im:
        return np.asarray(im)


def test_api_offers_the_two_modes(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/upscale", "/compare"}
    params = [p["parameter_name"] for p in endpoints["/upscale"]["parameters"]]
    output = ["output_format", "quality", "width", "height"]  # after the old ones: positional clients keep working
    assert params == ["image", "scale", "self_ensemble", "model", *output]
    params = [p["parameter_name"] for p in endpoints["/compare"]["parameters"]]
    assert params == ["image", "scale", "self_ensemble", "model", "degradation", *output]
    assert len(endpoints["/upscale"]["returns"]) == 9  # as docs/app.md lists them


def test_upscale_returns_the_full_result_and_crops_of_it(client):
    overview, original, bicubic, fsrcnn, photo, ensemble, slider, download, report = client.predict(
        handle_file(CAT), 3, True, api_name="/upscale")  # the model left out: existing clients keep working
    assert download.endswith("cat_x3_ensemble.png")
    full = png_pixels(download)
    assert full.shape == (170 * 3, 256 * 3, 3)
    crop = png_pixels(ensemble)
    assert crop.shape == (256, 256, 3)
    from app_helpers import WEIGHTS

    if (WEIGHTS / "fsrcnn_photo_x3.keras").exists():  # the photo model's crop of the same region
        assert png_pixels(photo).shape == (256, 256, 3) and not np.array_equal(png_pixels(photo), png_pixels(fsrcnn))
    else:
        assert photo is None
    # the crop is a window of the full result, on the LR grid
    hits = [(y, x) for y in range(0, full.shape[0] - 255, 3) for x in range(0, full.shape[1] - 255, 3)
            if np.array_equal(full[y:y + 256, x:x + 256], crop)]
    assert len(hits) == 1
    y, x = hits[0]
    with Image.open(CAT) as im:  # nearest neighbour keeps every input pixel as a 3x3 block
        rgb = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(png_pixels(original), rgb.repeat(3, 0).repeat(3, 1)[y:y + 256, x:x + 256])
    np.testing.assert_array_equal(png_pixels(slider[0]), png_pixels(bicubic))
    np.testing.assert_array_equal(png_pixels(slider[1]), crop)
    with Image.open(overview) as im:
        assert im.size == (256, 170)  # the whole photo (small ones as they are)
    assert "256×170 → 768×510" in report and "Model: " in report and "clean model" in report


def test_upscale_without_ensemble(client):
    *crops, slider, download, report = client.predict(handle_file(CAT), 2, False, "clean", api_name="/upscale")
    assert crops[5] is None and "self-ensemble" not in report
    assert png_pixels(download).shape == (340, 512, 3) and download.endswith("cat_x2_fsrcnn.png")


def test_compare_reports_psnr_and_ssim(client):
    *crops, slider, download, report = client.predict(handle_file(CAT), 4, False, "auto", "none", api_name="/compare")
    assert png_pixels(crops[1]).shape == (168, 256, 3)  # modcropped to multiples of 4: all of it fits in a crop
    assert png_pixels(download).shape == (168, 256, 3)
    assert crops[5] is None
    assert "| Method | PSNR (dB) | SSIM | Time |" in report and "| Bicubic | " in report
    assert "shrunk to 64×42" in report


def test_bad_inputs_get_readable_messages_and_the_server_keeps_serving(client, tmp_path):
    (tmp_path / "notes.png").write_bytes(b"this is text with an image's name")
    (tmp_path / "huge.png").write_bytes(png_header_only(8200, 6200))  # over the default 50 megapixels
    # All three are refused before the request joins the queue (see fsrcnn.events.validator).
    cases = [(tmp_path / "notes.png", 2, "- image: notes.png: not an image file"),
             (tmp_path / "huge.png", 2, "- image: huge.png: 8200x6200 is 50.8 megapixels, over the limit of 50.0"),
             (CAT, 5, "- scale: scale must be one of x2, x3, x4")]
    for path, scale, message in cases:
        with pytest.raises(ValidationError, match=message):
            client.predict(handle_file(path), scale, False, api_name="/upscale")
    with pytest.raises(ValidationError, match="model: model must be one of auto, clean, photo"):
        client.predict(handle_file(CAT), 2, False, "sharpest", api_name="/upscale")
    with pytest.raises(ValidationError, match="degradation: degradation must be one of none, jpeg90"):
        client.predict(handle_file(CAT), 2, False, "auto", "jpeg10", api_name="/compare")
    # A file whose header is fine but whose pixels are damaged is refused when it is decoded.
    (tmp_path / "cut.png").write_bytes(CAT.read_bytes()[:20_000])
    with pytest.raises(AppError, match="cut.png: damaged or truncated image"):
        client.predict(handle_file(tmp_path / "cut.png"), 2, False, api_name="/upscale")
    assert client.predict(handle_file(CAT), 2, False, "clean", api_name="/upscale")[-2].endswith("cat_x2_fsrcnn.png")


def test_upload_size_is_limited(client, tmp_path):
    import httpx

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (51 * 1024 * 1024))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        client.predict(handle_file(big), 2, False, api_name="/upscale")
    # and the server refuses it from clients that do not
    answer = httpx.post(client.src + "gradio_api/upload", files={"files": ("big.png", big.read_bytes())}, timeout=60)
    assert answer.status_code == 413


def test_auto_picks_the_photo_model_for_a_q50_jpeg_and_clean_for_a_png(client, tmp_path):
    from app_helpers import WEIGHTS

    if not (WEIGHTS / "fsrcnn_photo_x2.keras").exists():
        pytest.skip("no photo weights for x2")
    jpeg = tmp_path / "web.jpg"
    with Image.open(CAT) as im:
        im.convert("RGB").save(jpeg, quality=50)
    *_, download, report = client.predict(handle_file(jpeg), 2, False, "auto", api_name="/upscale")
    assert "JPEG quality ≈ 50: photo model" in report and download.endswith("web_x2_photo.png")
    *_, download, report = client.predict(handle_file(CAT), 2, False, "auto", api_name="/upscale")
    assert "clean model" in report and download.endswith("cat_x2_fsrcnn.png")
