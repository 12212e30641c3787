"""The model registry: each variant once, the bands auto gives them, and the bank of installed files."""
import math
import shutil
from pathlib import Path

import pytest

from fsrcnn import models
from fsrcnn.config import load_recipe
from fsrcnn.models import CLEAN, LIGHT, PHOTO, VARIANTS, Bank, band_of, resolve
from fsrcnn.weights import weights_path

RECIPES = Path(models.__file__).parent / "recipes"


def test_variant_paths():
    assert weights_path(2).name == "fsrcnn_x2.keras"
    assert weights_path(4, variant="photo").name == "fsrcnn_photo_x4.keras"
    with pytest.raises(ValueError, match="model"):
        weights_path(2, variant="anime")


@pytest.mark.parametrize("scale", models.SCALES)
def test_every_variant_with_a_recipe_trains_its_own_file(scale):
    for v in VARIANTS.values():
        if v.recipe is None:
            continue
        recipe = load_recipe(RECIPES / v.recipe.format(scale=scale))
        assert recipe["scale"] == scale and Path(recipe["output"]).name == v.file(scale), v.name


def test_the_bands_of_each_axis_cover_everything_once():
    for axis, top in (("jpeg", 101), ("noise", 50)):
        edges = sorted(getattr(v, axis) for v in VARIANTS.values())
        assert edges[0][0] == 0 and edges[-1][1] == math.inf
        assert all(a[1] == b[0] for a, b in zip(edges, edges[1:], strict=False)), axis
        assert band_of(axis, top) in VARIANTS


def test_a_missing_variant_hands_its_band_to_its_neighbours():
    everything, old, light_only, clean = ("clean", "photo", "light"), ("clean", "photo"), ("clean", "light"), ("clean",)
    assert resolve(LIGHT.name, everything, "jpeg", 85) == LIGHT.name
    assert [resolve(LIGHT.name, old, "jpeg", q) for q in (80, 89, 90, 95)] == ["photo", "photo", "clean", "clean"]
    assert resolve(PHOTO.name, light_only, "jpeg", 30) == LIGHT.name
    assert resolve(LIGHT.name, old, "noise", 2.0) == PHOTO.name
    assert resolve(PHOTO.name, light_only, "noise", 3.0) == LIGHT.name
    assert resolve(PHOTO.name, light_only) == LIGHT.name  # gray noise: no band, any photo variant
    assert resolve(PHOTO.name, clean, "jpeg", 30) is None  # clean, but only because none is installed
    assert resolve(LIGHT.name, clean, "jpeg", 92) == CLEAN.name  # clean by the band itself


def test_the_bank_lists_what_is_installed_per_scale(stand_in_weights, tmp_path):
    for scale in (2, 3, 4):
        shutil.copy(stand_in_weights / f"fsrcnn_x{scale}.keras", tmp_path)
    shutil.copy(stand_in_weights / "fsrcnn_x2.keras", tmp_path / PHOTO.file(2))
    bank = Bank.scan(weights_dir=tmp_path)
    assert bank.scales == (2, 3, 4)
    assert bank.installed() == ("clean", "photo") and bank.installed(3) == ("clean",)
    assert bank.photo(2) == ("photo",) and bank.photo(4) == () and bank.photo_scales() == (2,)
    assert bank.check_request(" Photo ", 2) == "photo"
    with pytest.raises(ValueError, match="photo model is not installed for x3"):
        bank.check_request("photo", 3)
    with pytest.raises(ValueError, match="model must be one of auto, clean, photo"):
        bank.check_request("sharp")
    with pytest.raises(ValueError, match="photo model for x4 is not loaded.*fsrcnn_photo_x4.keras"):
        bank.check("photo", 4)
