"""Shared fixtures: the research data (when ../shared is there), stand-in and shipped weights."""
import os
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, WEIGHTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow


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
def stand_in_models(stand_in_weights) -> dict:
    """The stand-in weights as Keras models, for the reference (fsrcnn.reference)."""
    from fsrcnn.weights import load_model

    return {s: load_model(stand_in_weights / f"fsrcnn_x{s}.keras") for s in (2, 3, 4)}


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


@pytest.fixture(scope="module")
def demo(stand_in_upscaler, tmp_path_factory):
    """The app's logic over the stand-in weights (clean only), writing into a folder of its own."""
    from fsrcnn import demo as logic

    return logic.Demo(stand_in_upscaler, output_dir=tmp_path_factory.mktemp("demo-out"))
