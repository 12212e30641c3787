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
    monkeypatch.setattr("fsrcnn.weights.WEIGHTS_DIR", stand_in_weights)
    single = tmp_path / "single.png"
    Image.fromarray(synthetic_photo(9, 3)).save(single)
    out = tmp_path / "out" / "nested"
    assert main(["upscale", str(inputs), str(single), "--scale", "3", "--output", str(out), "--tta"]) == 0
    written = {p.name: Image.open(p) for p in out.iterdir()}
    assert set(written) == {"a.png", "b.png", "single.png"}
    assert written["a.png"].size == (60, 60) and written["a.png"].format == "PNG"
    assert written["b.png"].mode == "L" and written["b.png"].size == (93, 93) and written["single.png"].size == (27, 27)


def test_upscale_reports_a_bad_file_goes_on_and_exits_non_zero(inputs, tmp_path, stand_in_weights, monkeypatch, capsys):
    monkeypatch.setattr("fsrcnn.weights.WEIGHTS_DIR", stand_in_weights)
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    out = tmp_path / "out"
    code = main(["upscale", str(inputs), "--scale", "2", "--output", str(out)])
    assert code != 0
    assert "broken.png" in capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {"a.png", "b.png"}


def test_upscale_engines_write_the_same_pixels(inputs, tmp_path, stand_in_weights, monkeypatch, capsys):
    import numpy as np

    monkeypatch.setattr("fsrcnn.weights.WEIGHTS_DIR", stand_in_weights)
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
