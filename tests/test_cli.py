import subprocess
import sys

import pytest
from PIL import Image

from fsrcnn import cli
from fsrcnn.cli import main
from helpers import ROOT, synthetic_photo


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(synthetic_photo(20, 1)).save(folder / "a.jpg")
    Image.fromarray(synthetic_photo(31, 2)[..., 0]).save(folder / "b.bmp")
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    return folder


def test_upscale_writes_a_png_per_input_and_handles_folders(inputs, tmp_path, stand_in_weights, monkeypatch):
    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    single = tmp_path / "single.png"
    Image.fromarray(synthetic_photo(9, 3)).save(single)
    out = tmp_path / "out" / "nested"
    assert main(["upscale", str(inputs), str(single), "--scale", "3", "--output", str(out), "--tta"]) == 0
    written = {p.name: Image.open(p) for p in out.iterdir()}
    assert set(written) == {"a.png", "b.png", "single.png"}
    assert written["a.png"].size == (60, 60) and written["a.png"].format == "PNG"
    assert written["b.png"].mode == "L" and written["b.png"].size == (93, 93) and written["single.png"].size == (27, 27)


def test_upscale_reports_a_bad_file_goes_on_and_exits_non_zero(inputs, tmp_path, stand_in_weights, monkeypatch, capsys):
    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    out = tmp_path / "out"
    code = main(["upscale", str(inputs), "--scale", "2", "--output", str(out)])
    assert code != 0
    assert "broken.png" in capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {"a.png", "b.png"}


def test_upscale_engines_write_the_same_pixels(inputs, tmp_path, stand_in_weights, monkeypatch, capsys):
    import numpy as np

    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    images = {}
    for engine in ("openvino", "xla"):
        assert main(["upscale", str(inputs / "a.jpg"), "--scale", "2", "--output", str(tmp_path / engine),
                     "--engine", engine]) == 0
        assert f"({'OpenVINO' if engine == 'openvino' else 'XLA'})" in capsys.readouterr().out
        images[engine] = np.asarray(Image.open(tmp_path / engine / "a.png"), int)
    assert images["openvino"].shape == (40, 40, 3)
    assert np.abs(images["openvino"] - images["xla"]).max() <= 1


def test_evaluate_prints_a_table_with_the_gain(inputs, stand_in_weights, capsys):
    args = ["evaluate", "--data", str(inputs), "--scale", "2", "--tta", "--weights-dir", str(stand_in_weights)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| bicubic |" in out and "| FSRCNN |" in out and "| FSRCNN + self-ensemble |" in out
    assert "in x2 (2 images" in out


def test_missing_weights_is_a_clear_error(inputs, tmp_path, capsys):
    code = main(["evaluate", "--data", str(inputs), "--scale", "2", "--weights-dir", str(tmp_path)])
    assert code == 2 and "fsrcnn_x2.keras is missing" in capsys.readouterr().err


def test_every_subcommand_has_help():
    for command in ("train", "evaluate", "upscale", "export"):
        result = subprocess.run([sys.executable, "-m", "fsrcnn", command, "--help"], cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and "usage: python -m fsrcnn " + command in result.stdout


def test_cli_tile_default_matches_the_library():
    from fsrcnn.upscaler import DEFAULT_TILE

    assert cli.DEFAULT_TILE == DEFAULT_TILE


def test_the_cpu_path_never_imports_tensorflow(stand_in_weights, tmp_path):
    """`upscale --help` and an upscale on the CPU (OpenVINO) run without loading TensorFlow."""
    Image.fromarray(synthetic_photo(20, 1)).save(tmp_path / "a.png")
    code = (
        "import sys; from fsrcnn.cli import main; "
        "code = main(sys.argv[1:]); print('TF' if 'tensorflow' in sys.modules else 'no TF', code)"
    )
    args = ["upscale", str(tmp_path / "a.png"), "--scale", "2", "--output", str(tmp_path / "out"), "--device", "cpu",
            "--engine", "openvino", "--weights-dir", str(stand_in_weights)]
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "no TF 0" and (tmp_path / "out" / "a.png").exists()
    help_code = "import sys; from fsrcnn.cli import main\ntry: main(['upscale', '--help'])\nexcept SystemExit: pass\n" \
                "print('TF' if 'tensorflow' in sys.modules else 'no TF')"
    result = subprocess.run([sys.executable, "-c", help_code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "no TF", result.stderr



def test_upscale_chooses_the_photo_model_for_a_q50_jpeg_and_says_why(tmp_path, capsys):
    import numpy as np

    from fsrcnn.upscaler import Upscaler
    from helpers import make_two_model_weights

    weights = make_two_model_weights(tmp_path / "weights")
    photo = synthetic_photo(64, 4)
    Image.fromarray(photo).save(tmp_path / "web.jpg", quality=50)
    Image.fromarray(photo).save(tmp_path / "clean.png")
    out = tmp_path / "out"
    assert main(["upscale", str(tmp_path / "web.jpg"), str(tmp_path / "clean.png"), "--scale", "2",
                 "--output", str(out), "--weights-dir", str(weights)]) == 0
    notes = capsys.readouterr().out
    assert "web.jpg: JPEG quality ≈ 50: photo model" in notes and "clean.png: lossless file" in notes
    upscaler = Upscaler((2,), weights_dir=weights)
    for name, source, model in (("web", "web.jpg", "photo"), ("clean", "clean.png", "clean")):
        from fsrcnn.images import open_image

        expected = upscaler.upscale_array(np.asarray(open_image(tmp_path / source).image), 2, model=model)
        np.testing.assert_array_equal(np.asarray(Image.open(out / f"{name}.png")), expected)
    # Asked for, a model is used whatever the evidence; missing photo weights are said plainly.
    assert main(["upscale", str(tmp_path / "web.jpg"), "--scale", "2", "--output", str(tmp_path / "o2"),
                 "--weights-dir", str(weights), "--model", "clean"]) == 0
    assert "clean model, as asked" in capsys.readouterr().out
    clean_only = tmp_path / "clean-only"
    clean_only.mkdir()
    import shutil

    shutil.copy(weights / "fsrcnn_x2.keras", clean_only)
    assert main(["upscale", str(tmp_path / "web.jpg"), "--scale", "2", "--output", str(tmp_path / "o3"),
                 "--weights-dir", str(clean_only)]) == 0
    assert "photo weights are not installed: clean model" in capsys.readouterr().out
    assert main(["upscale", str(tmp_path / "web.jpg"), "--scale", "2", "--output", str(tmp_path / "o4"),
                 "--weights-dir", str(clean_only), "--model", "photo"]) == 2


def test_upscale_takes_the_light_photo_model_for_a_jpeg_of_high_quality(tmp_path, capsys):
    import numpy as np

    from fsrcnn.images import open_image
    from fsrcnn.quality import LIGHT_FROM_QUALITY
    from fsrcnn.upscaler import Upscaler
    from helpers import make_two_model_weights

    weights = make_two_model_weights(tmp_path / "weights", scales=(2,), light=True)
    Image.fromarray(synthetic_photo(64, 4)).save(tmp_path / "camera.jpg", quality=LIGHT_FROM_QUALITY)
    assert main(["upscale", str(tmp_path / "camera.jpg"), "--scale", "2", "--output", str(tmp_path / "out"),
                 "--weights-dir", str(weights)]) == 0
    assert f"camera.jpg: JPEG quality ≈ {LIGHT_FROM_QUALITY}: light photo model" in capsys.readouterr().out
    expected = Upscaler((2,), weights_dir=weights).upscale_array(
        np.asarray(open_image(tmp_path / "camera.jpg").image), 2, model="light")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "camera.png")), expected)


# --- output formats and sizes (fsrcnn/output.py) --------------------------------------------------------

def _upscale(tmp_path, name, *options, inputs=None, code=0):
    out = tmp_path / name
    assert main(["upscale", *map(str, inputs), "--output", str(out), *options]) == code
    return out


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_upscale_lossless_webp_has_the_pixels_of_the_png(tmp_path, stand_in_weights, monkeypatch, mode):
    import numpy as np

    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    photo = tmp_path / "photo.png"
    Image.fromarray(synthetic_photo(24, 5)).convert(mode).save(photo)
    png = _upscale(tmp_path, "png", "--scale", "2", inputs=[photo]) / "photo.png"
    webp = _upscale(tmp_path, "webp", "--scale", "2", "--format", "webp", inputs=[photo]) / "photo.webp"
    with Image.open(png) as a, Image.open(webp) as b:
        assert b.format == "WEBP" and b.size == a.size == (48, 48) and a.mode == mode
        np.testing.assert_array_equal(np.asarray(b.convert(mode)), np.asarray(a))


def test_upscale_lossy_webp_and_jpeg_of_a_quality(inputs, tmp_path, stand_in_weights, monkeypatch):
    import numpy as np

    from fsrcnn.quality import jpeg_quality

    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    a = [inputs / "a.jpg"]
    png = np.asarray(Image.open(_upscale(tmp_path, "png", "--scale", "2", inputs=a) / "a.png"), float)
    for fmt, quality, suffix in (("jpeg", None, ".jpg"), ("jpeg", 60, ".jpg"), ("webp", 70, ".webp")):
        extra = ["--quality", str(quality)] if quality else []
        out = _upscale(tmp_path, f"{fmt}{quality}", "--scale", "2", "--format", fmt, *extra, inputs=a)
        with Image.open(out / f"a{suffix}") as im:
            assert im.format == fmt.upper() and im.size == (40, 40)
            if fmt == "jpeg":
                assert abs(jpeg_quality(im) - (quality or 90)) <= 2
            assert np.abs(np.asarray(im.convert("RGB"), float) - png).mean() < 12  # lossy, but the same picture


def test_upscale_to_a_width_or_height_takes_the_scale_that_reaches_it_then_downscales(
        inputs, tmp_path, stand_in_weights, monkeypatch):
    import numpy as np

    from fsrcnn.output import resize

    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    a = [inputs / "a.jpg"]  # 20 x 20
    x3 = Image.open(_upscale(tmp_path, "x3", "--scale", "3", inputs=a) / "a.png")
    sized = Image.open(_upscale(tmp_path, "w50", "--width", "50", inputs=a) / "a.png")  # x2 is 40: x3, then 50
    assert sized.size == (50, 50)
    np.testing.assert_array_equal(np.asarray(sized), np.asarray(resize(x3, (50, 50))))
    assert Image.open(_upscale(tmp_path, "h40", "--height", "40", inputs=a) / "a.png").size == (40, 40)  # x2 exactly
    both = _upscale(tmp_path, "both", "--width", "70", "--height", "30", "--format", "jpeg", inputs=a)
    assert Image.open(both / "a.jpg").size == (70, 30)


def test_upscale_refuses_what_a_format_or_size_cannot_do(tmp_path, stand_in_weights, monkeypatch, capsys):
    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", stand_in_weights)
    clear = tmp_path / "clear.png"
    Image.fromarray(synthetic_photo(16)).convert("RGBA").save(clear)
    out = _upscale(tmp_path, "jpeg", "--scale", "2", "--format", "jpeg", inputs=[clear], code=1)
    assert "JPEG has no transparency" in capsys.readouterr().err and not any(out.iterdir())
    _upscale(tmp_path, "big", "--width", "100", inputs=[clear], code=1)  # more than x4 of 16
    assert "more than x4" in capsys.readouterr().err
    _upscale(tmp_path, "q", "--scale", "2", "--quality", "80", inputs=[clear], code=2)
    assert "PNG is lossless" in capsys.readouterr().err
    _upscale(tmp_path, "none", inputs=[clear], code=2)
    assert "give --scale" in capsys.readouterr().err


def test_a_size_goal_chooses_among_the_weights_installed_for_the_scale_it_takes(tmp_path, capsys):
    from helpers import make_two_model_weights

    weights = make_two_model_weights(tmp_path / "weights", scales=(2, 3, 4))
    (weights / "fsrcnn_photo_x3.keras").unlink()  # the photo weights exist at x2 and x4 only
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(synthetic_photo(20, 1)).save(folder / "a.jpg", quality=40)  # auto wants the photo weights
    out = _upscale(tmp_path, "w50", "--width", "50", "--weights-dir", str(weights), inputs=[folder / "a.jpg"])
    assert Image.open(out / "a.png").size == (50, 50)  # x3, then down to 50
    assert "the photo weights are not installed: clean model" in capsys.readouterr().out
