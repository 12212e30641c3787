import numpy as np
import pytest
from PIL import Image

from fsrcnn.cli import main
from helpers import make_two_model_weights, synthetic_photo


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hr")
    for i in range(3):
        Image.fromarray(synthetic_photo(96, seed=20 + i)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    return make_two_model_weights(tmp_path_factory.mktemp("two-models"), scales=(2,))


@pytest.fixture(scope="module")
def upscaler(two_models):
    from fsrcnn.upscaler import Upscaler

    return Upscaler((2,), weights_dir=two_models, tile=48)


def by_method(rows):
    return {r.method: r for r in rows}


def test_auto_is_the_clean_model_on_clean_pngs_and_the_photo_model_on_jpegs(photos, upscaler):
    from fsrcnn.evaluate import evaluate_folder

    clean = by_method(evaluate_folder(upscaler, photos, 2, models=("clean", "photo", "auto")))
    assert list(clean) == ["bicubic", "FSRCNN clean", "FSRCNN photo", "FSRCNN auto"]
    assert clean["FSRCNN auto"].psnr == clean["FSRCNN clean"].psnr != clean["FSRCNN photo"].psnr
    assert clean["FSRCNN auto"].note == "chose clean 3, photo 0"
    jpeg = by_method(evaluate_folder(upscaler, photos, 2, degrade_spec="jpeg50", models=("clean", "photo", "auto")))
    assert jpeg["FSRCNN auto"].psnr == jpeg["FSRCNN photo"].psnr
    assert jpeg["FSRCNN auto"].note == "chose clean 0, photo 3"
    assert jpeg["bicubic"].psnr < clean["bicubic"].psnr  # the JPEG really was applied


def test_auto_takes_the_light_photo_model_for_jpegs_of_high_quality(photos, tmp_path):
    from fsrcnn.evaluate import evaluate_folder
    from fsrcnn.quality import LIGHT_FROM_QUALITY
    from fsrcnn.upscaler import Upscaler

    upscaler = Upscaler((2,), weights_dir=make_two_model_weights(tmp_path, scales=(2,), light=True), tile=48)
    rows = by_method(evaluate_folder(upscaler, photos, 2, degrade_spec=f"jpeg{LIGHT_FROM_QUALITY}",
                                     models=("light", "auto")))
    assert list(rows) == ["bicubic", "FSRCNN light", "FSRCNN auto"]
    assert rows["FSRCNN auto"].psnr == rows["FSRCNN light"].psnr
    assert rows["FSRCNN auto"].note == "chose clean 0, photo 0, light 3"


def test_degraded_inputs_are_the_files_a_user_would_have():
    from fsrcnn.degradations import jpeg
    from fsrcnn.evaluate import degraded_input

    lr = synthetic_photo(64, seed=2)
    pixels, file = degraded_input(lr, "jpeg75", seed=0)
    assert Image.open(file).format == "JPEG"
    np.testing.assert_array_equal(pixels, jpeg(lr, 75))
    pixels, file = degraded_input(lr, "noise5", seed=3)
    assert Image.open(file).format == "PNG" and np.abs(pixels.astype(int) - lr).mean() > 2
    assert degraded_input(lr, "", seed=0) == (lr, None)


def test_evaluate_prints_one_table_per_degradation_with_every_model(photos, two_models, capsys):
    assert main(["evaluate", "--data", str(photos), "--scale", "2", "--weights-dir", str(two_models),
                 "--degrade", "jpeg50", "--degrade", "noise5", "--tta"]) == 0
    out = capsys.readouterr().out
    assert "then jpeg50" in out and "then noise5" in out
    for method in ("FSRCNN clean |", "FSRCNN photo + self-ensemble |", "FSRCNN auto (chose"):
        assert out.count(f"| {method}") == 2
    assert main(["evaluate", "--data", str(photos), "--scale", "2", "--weights-dir", str(two_models),
                 "--degrade", "jpeg"]) == 2
