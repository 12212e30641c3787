"""Shared fixtures: the research data (when ../shared is there), stand-in and shipped weights."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WEIGHTS = ROOT / "weights"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "Set5").is_dir():
        pytest.skip("../shared/data is not here")
    return DATA


@pytest.fixture(scope="session")
def stand_in_weights(tmp_path_factory) -> Path:
    """Untrained FSRCNN weights for every scale: fast tests of behaviour, not of quality."""
    import keras

    from fsrcnn.model import build_fsrcnn

    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    for scale in (2, 3, 4):
        model = build_fsrcnn(scale)
        # Give the deconvolution real weight so outputs vary with the input, as a trained model's do.
        kernel, bias = model.get_layer("deconv").get_weights()
        model.get_layer("deconv").set_weights([np.random.default_rng(scale).normal(0, 0.02, kernel.shape), bias])
        model.save(folder / f"fsrcnn_x{scale}.keras")
    return folder


@pytest.fixture(scope="session")
def stand_in_upscaler(stand_in_weights):
    from fsrcnn.upscaler import Upscaler

    return Upscaler(weights_dir=stand_in_weights, tile=32)


@pytest.fixture(scope="session")
def shipped_upscaler():
    from fsrcnn.upscaler import Upscaler

    if not all((WEIGHTS / f"fsrcnn_x{s}.keras").exists() for s in (2, 3, 4)):
        pytest.skip("shipped weights are not trained yet")
    return Upscaler()


def synthetic_photo(size: int = 96, seed: int = 0) -> np.ndarray:
    """A small RGB picture with what photos have: smooth shading, sharp edges, lines, fine texture."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([120 + 80 * np.sin(3 * xx + c) * np.cos(2 * yy - c) for c in (0.0, 1.0, 2.0)], -1)
    im = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rng.integers(0, size, 2)
        x1, y1 = np.array([x0, y0]) + rng.integers(2, max(3, size // 2), 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif shape == 1:
            draw.ellipse([x0, y0, x1, y1], outline=colour, width=2)
        else:
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(1, 4)))
    draw.text((4, size // 2), "FSRCNN x", fill=(255, 255, 255))
    # Photos are slightly soft: a camera's optics never give single-pixel steps.
    return np.asarray(im.filter(ImageFilter.GaussianBlur(0.6)))


@pytest.fixture(scope="session")
def live_app(request, tmp_path_factory):
    """One `python app.py` on loopback for every test that only talks to it (starting one takes seconds).

    Serves the weights of app_helpers.app_weights; yields the app's URL. Tests that stop or
    reconfigure an app start their own with app_helpers.running_app.
    """
    from app_helpers import app_weights, running_app

    weights, _ = app_weights(request)
    workdir = tmp_path_factory.mktemp("live-app")
    with running_app(weights, workdir) as url:
        yield url
