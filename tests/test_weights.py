"""Weight files: checksums, clear errors, numpy reading without TensorFlow, and the shipped weights' quality."""
import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.upscaler import Upscaler, bicubic_array
from fsrcnn.weights import Weights, WeightsError, load_model, read_weights
from helpers import ROOT, WEIGHTS, synthetic_photo


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fsrcnn_beats_bicubic_on_a_synthetic_photo(shipped_upscaler, scale):
    hr = modcrop(synthetic_photo(144, seed=11), scale)
    lr = degrade(hr, scale)
    bicubic = psnr_ssim_y(hr, bicubic_array(lr, scale), scale)
    fsrcnn = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, scale), scale)
    assert fsrcnn[0] > bicubic[0] + 0.3
    assert fsrcnn[1] > bicubic[1]


def _same(a: Weights, b: Weights) -> bool:
    arrays = lambda w: [x for conv in w.convs for x in conv] + [w.deconv_kernel]  # noqa: E731
    return (a.scale, a.m, a.deconv_bias) == (b.scale, b.m, b.deconv_bias) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(arrays(a), arrays(b), strict=True))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_numpy_reading_gives_what_keras_loads(stand_in_weights, scale):
    path = stand_in_weights / f"fsrcnn_x{scale}.keras"
    numpy_weights, keras_weights = read_weights(path), Weights.from_model(load_model(path))
    assert numpy_weights.scale == scale and numpy_weights.m == 4 and len(numpy_weights.convs) == 7
    assert _same(numpy_weights, keras_weights)


def test_numpy_reading_of_the_shipped_files():
    for scale in (2, 3, 4):
        path = WEIGHTS / f"fsrcnn_x{scale}.keras"
        if not path.exists():
            pytest.skip("shipped weights are not trained yet")
        assert _same(read_weights(path), Weights.from_model(load_model(path)))


def test_reading_weights_does_not_import_tensorflow():
    code = ("import sys; from fsrcnn.weights import read_weights; w = read_weights(sys.argv[1]); "
            "print(w.scale, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    path = WEIGHTS / "fsrcnn_x3.keras"
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["3", "False", "False"], out.stderr


def test_missing_or_corrupt_weights_name_the_file(tmp_path):
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras is missing"):
        Upscaler([2], tmp_path)
    (tmp_path / "fsrcnn_x2.keras").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras cannot be loaded"):
        Upscaler([2], tmp_path)
    with pytest.raises(WeightsError, match="fsrcnn_x2.keras cannot be loaded"):
        load_model(tmp_path / "fsrcnn_x2.keras")


def test_shipped_weights_missing_says_how_to_restore_them(tmp_path, monkeypatch):
    monkeypatch.setattr("fsrcnn.models.WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError, match=r"restore it with `git checkout -- weights/fsrcnn_x4.keras`"):
        Upscaler([4])


def test_weights_are_checked_against_recorded_checksums(stand_in_weights, tmp_path):
    shutil.copy(stand_in_weights / "fsrcnn_x3.keras", tmp_path / "fsrcnn_x3.keras")
    good = hashlib.sha256((tmp_path / "fsrcnn_x3.keras").read_bytes()).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{good} *fsrcnn_x3.keras\n")  # sha256sum -b format
    assert Upscaler([3], tmp_path).scales == (3,)
    (tmp_path / "SHA256SUMS").write_text(f"{good}  fsrcnn_x2.keras\n")
    with pytest.raises(WeightsError, match="does not list fsrcnn_x3.keras"):
        Upscaler([3], tmp_path)
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  fsrcnn_x3.keras\n")
    with pytest.raises(WeightsError, match="fsrcnn_x3.keras is damaged or was changed"):
        Upscaler([3], tmp_path)


def test_shipped_checksums_list_every_shipped_file():
    lines = (WEIGHTS / "SHA256SUMS").read_text().splitlines()
    listed = {line.split()[1].lstrip("*"): line.split()[0] for line in lines}
    for path in WEIGHTS.glob("*.keras"):
        assert listed.get(path.name) == hashlib.sha256(path.read_bytes()).hexdigest(), path.name


def test_lineage_records_every_shipped_file():
    import json

    from fsrcnn.train import shipped_weights

    doc = json.loads((WEIGHTS / "lineage.json").read_text())
    assert set(doc["files"]) == {p.name for p in WEIGHTS.glob("fsrcnn_*.keras")}
    for name, entry in doc["files"].items():
        assert entry["sha256"] == hashlib.sha256((WEIGHTS / name).read_bytes()).hexdigest(), name
        # The file is its run's averaged weights (--ema), collapsed: the run in the tree can resume or rebuild it.
        arrays = shipped_weights(ROOT / entry["run_dir"])
        for a, b in zip(load_model(WEIGHTS / name).get_weights(), arrays, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)
