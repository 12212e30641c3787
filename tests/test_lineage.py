import json

import numpy as np
import pytest
from PIL import Image

from fsrcnn.cli import main
from fsrcnn.lineage import LINEAGE, problems, session_problem
from fsrcnn.train import shipped_weights
from fsrcnn.weights import check_file, load_model, sha256
from helpers import ROOT, WEIGHTS, synthetic_photo


def write_recipe(path, photos, run_dir, output, epochs, init_from=None):
    path.write_text(f"""
data = ["{photos}"]
scale = 2
run_dir = "{run_dir}"
output = "{output}"
epochs = {epochs}
steps_per_epoch = 2
batch_size = 2
patch = 20
downscales = [1.0]
jit_compile = false
seed = 3
expansion = 4
edges = true
identity = true
""" + (f'init_from = "{init_from}"\n' if init_from else ""))


def test_recipe_runs_record_their_lineage_and_a_changed_file_breaks_it(tmp_path):
    photos, recipes, weights = tmp_path / "hr", tmp_path / "recipes", tmp_path / "weights"
    for folder in (photos, recipes, weights):
        folder.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_photo(64, seed=i)).save(photos / f"p{i}.png")
    (weights / "SHA256SUMS").write_text(f"{'0' * 64}  other.keras\n")
    clean, photo = weights / "clean.keras", weights / "photo.keras"
    write_recipe(recipes / "clean.toml", photos, tmp_path / "run-clean", clean, epochs=1)
    assert main(["train", "--recipe", str(recipes / "clean.toml")]) == 0
    # The recipe grows by an epoch and the run resumes: two sessions, one after the other.
    write_recipe(recipes / "clean.toml", photos, tmp_path / "run-clean", clean, epochs=2)
    assert main(["train", "--recipe", str(recipes / "clean.toml"), "--resume"]) == 0
    write_recipe(recipes / "photo.toml", photos, tmp_path / "run-photo", photo, epochs=1, init_from=clean)
    assert main(["train", "--recipe", str(recipes / "photo.toml")]) == 0

    files = json.loads((weights / LINEAGE).read_text())["files"]
    entry = files["clean.keras"]
    assert entry["command"] == f"python -m fsrcnn train --recipe {recipes / 'clean.toml'}"
    assert [(s["first_epoch"], s["epochs_done"]) for s in entry["sessions"]] == [(0, 1), (1, 2)]
    assert entry["sessions"][1]["command"].endswith("--resume") and min(s["cpu_seconds"] for s in entry["sessions"]) > 0
    assert files["photo.keras"]["init_from_sha256"] == entry["sha256"] == sha256(clean)
    assert problems(weights, recipes) == []
    # The files load (SHA256SUMS beside them was updated; other lines kept) and are the runs' collapsed averages.
    assert "other.keras" in (weights / "SHA256SUMS").read_text()
    for path, run in ((clean, "run-clean"), (photo, "run-photo")):
        check_file(path)
        for a, b in zip(load_model(path).get_weights(), shipped_weights(tmp_path / run), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)

    # The clean recipe grows and runs on while the photo run is paused: the photo file, finished
    # after that, names the clean file it started from, which is no longer the one shipped.
    started = sha256(clean)
    write_recipe(recipes / "clean.toml", photos, tmp_path / "run-clean", clean, epochs=3)
    assert main(["train", "--recipe", str(recipes / "clean.toml"), "--resume"]) == 0
    write_recipe(recipes / "photo.toml", photos, tmp_path / "run-photo", photo, epochs=2, init_from=clean)
    assert main(["train", "--recipe", str(recipes / "photo.toml"), "--resume"]) == 0
    files = json.loads((weights / LINEAGE).read_text())["files"]
    assert files["photo.keras"]["init_from_sha256"] == started != files["clean.keras"]["sha256"]
    assert [p for p in problems(weights, recipes) if "photo.keras: started from" in p]

    # Retraining the clean file outside its recipe leaves the photo file started from an older one.
    assert main(["train", "--recipe", str(recipes / "clean.toml"), "--run-dir", str(tmp_path / "other")]) == 0
    found = problems(weights, recipes)
    assert any("clean.keras: a session ran" in p for p in found)
    assert any("photo.keras: started from" in p for p in found)
    clean.write_bytes(clean.read_bytes() + b"\0")
    assert any("clean.keras: changed since" in p for p in problems(weights, recipes))


@pytest.mark.parametrize("extra, allowed", [
    ("", True), (" --resume", True), (" --resume --seed 7", True), (" --seed 7 --resume", True),
    (" --seed 7", False),  # a new seed from the start is another recipe
    (" --resume --epochs 9", False), (" --lr 0.1", False), (" --resume --seed x", False),
])
def test_a_session_may_only_resume_its_recipe(extra, allowed):
    recipe = "fsrcnn/recipes/clean_x2.toml"
    found = session_problem(recipe, {"command": f"python -m fsrcnn train --recipe ./{recipe}{extra}"})
    assert (found is None) == allowed, found
    assert session_problem(recipe, {"command": None}) is not None  # sessions nobody recorded


def test_every_shipped_file_is_a_recipe_run():
    assert problems(WEIGHTS, ROOT / "fsrcnn" / "recipes", ROOT) == []
