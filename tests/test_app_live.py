"""`python app.py` on a free loopback port, driven through its API with gradio_client."""
import numpy as np
import pytest
from PIL import Image

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
    assert params == ["image", "scale", "self_ensemble"]


def test_upscale_returns_four_panels_and_a_matching_png(client):
    original, bicubic, fsrcnn, ensemble, slider, download, report = client.predict(
        handle_file(CAT), 3, True, api_name="/upscale")
    for path in (original, bicubic, fsrcnn, ensemble):
        assert png_pixels(path).shape == (170 * 3, 256 * 3, 3)
    assert download.endswith("cat_x3_ensemble.png")
    np.testing.assert_array_equal(png_pixels(download), png_pixels(ensemble))  # the file is what is shown
    np.testing.assert_array_equal(png_pixels(slider[0]), png_pixels(bicubic))
    np.testing.assert_array_equal(png_pixels(slider[1]), png_pixels(ensemble))
    with Image.open(CAT) as im:  # nearest neighbour keeps every input pixel as a 3x3 block
        np.testing.assert_array_equal(png_pixels(original)[1::3, 1::3], np.asarray(im.convert("RGB")))
    assert "256×170 → 768×510" in report


def test_upscale_without_ensemble(client):
    original, bicubic, fsrcnn, ensemble, slider, download, report = client.predict(
        handle_file(CAT), 2, False, api_name="/upscale")
    assert ensemble is None and "self-ensemble" not in report
    assert png_pixels(fsrcnn).shape == (340, 512, 3)
    np.testing.assert_array_equal(png_pixels(download), png_pixels(fsrcnn))


def test_compare_reports_psnr_and_ssim(client):
    original, bicubic, fsrcnn, ensemble, slider, download, report = client.predict(
        handle_file(CAT), 4, False, api_name="/compare")
    for path in (original, bicubic, fsrcnn):
        assert png_pixels(path).shape == (168, 256, 3)  # modcropped to multiples of 4
    assert ensemble is None
    assert "| Method | PSNR (dB) | SSIM | Time |" in report and "| Bicubic | " in report
    assert "shrunk to 64×42" in report


def test_bad_inputs_get_readable_messages_and_the_server_keeps_serving(client, tmp_path):
    (tmp_path / "notes.png").write_bytes(b"this is text with an image's name")
    Image.new("RGB", (1100, 1000), "gray").save(tmp_path / "huge.png")  # over the default megapixel
    # All three are refused before the request joins the queue (see app.validator).
    cases = [(tmp_path / "notes.png", 2, "- image: notes.png: not an image file"),
             (tmp_path / "huge.png", 2, "- image: huge.png: 1100x1000 is 1.1 megapixels, over the limit of 1.0"),
             (CAT, 5, "- scale: scale must be one of x2, x3, x4")]
    for path, scale, message in cases:
        with pytest.raises(ValidationError, match=message):
            client.predict(handle_file(path), scale, False, api_name="/upscale")
    # A file whose header is fine but whose pixels are damaged is refused when it is decoded.
    (tmp_path / "cut.png").write_bytes(CAT.read_bytes()[:20_000])
    with pytest.raises(AppError, match="cut.png: damaged or truncated image"):
        client.predict(handle_file(tmp_path / "cut.png"), 2, False, api_name="/upscale")
    assert client.predict(handle_file(CAT), 2, False, api_name="/upscale")[2].endswith("cat_x2_fsrcnn.png")


def test_upload_size_is_limited(client, tmp_path):
    import httpx

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        client.predict(handle_file(big), 2, False, api_name="/upscale")
    # and the server refuses it from clients that do not
    answer = httpx.post(client.src + "gradio_api/upload", files={"files": ("big.png", big.read_bytes())}, timeout=60)
    assert answer.status_code == 413
