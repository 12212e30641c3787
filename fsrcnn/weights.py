"""The weight files: where they are, checking them against SHA256SUMS, and loading them.

Two ways to load one file:
- `load_model`: the Keras model (training, the reference forward pass, tests);
- `read_weights`: the same numbers as plain numpy arrays, read straight from the .keras archive
  (a zip holding config.json and model.weights.h5) with h5py. The engines build their programs
  from these, so the CPU path (OpenVINO) never imports TensorFlow.

The variants (clean, photo, light), their files and what is installed: models.py.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import models
from .model import deconv_taps, receptive_radius, subpixel_kernel
from .models import SCALES, weights_path  # noqa: F401  (the registry's, here for old callers)

if TYPE_CHECKING:
    import keras


class WeightsError(RuntimeError):
    """A weight file is missing or unusable; the message names the file and how to get it back."""


SUMS = "SHA256SUMS"  # beside the weight files, in `sha256sum` format


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def record_sha256(path: Path) -> None:
    """Set the line of `path` in the SHA256SUMS beside it (when there is one) to the file as it is now."""
    sums = path.parent / SUMS
    if sums.exists():
        kept = [line for line in sums.read_text().splitlines() if line.split()[-1].lstrip("*") != path.name]
        lines = sorted([*kept, f"{sha256(path)}  {path.name}"], key=lambda line: line.split()[-1])
        sums.write_text("\n".join(lines) + "\n")


def recorded_sha256(path: Path) -> str | None:
    """The checksum that SHA256SUMS beside a weight file records for it (`sha256sum` format)."""
    sums = path.parent / SUMS
    if not sums.exists():
        return None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == path.name:
            return parts[0].lower()
    raise WeightsError(f"{sums} does not list {path.name}: add its line with `sha256sum {path.name} >> SHA256SUMS`")


def _restore_hint(path: Path) -> str:
    shipped = path.resolve().parent == Path(models.WEIGHTS_DIR).resolve()
    restore = f"restore it with `git checkout -- weights/{path.name}`" if shipped else "copy it back"
    return restore + " or train it again (weights/README.md gives the command)"


def _unloadable(path: Path, e: Exception) -> WeightsError:
    return WeightsError(f"weight file {path} cannot be loaded ({type(e).__name__}: {e}): {_restore_hint(path)}")


def check_file(path: str | Path) -> Path:
    """The path, once it exists and matches the SHA256SUMS file beside it (if there is one)."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weight file {path} is missing: {_restore_hint(path)}")
    expected = recorded_sha256(path)
    if expected is not None:
        actual = sha256(path)
        if actual != expected:
            raise WeightsError(
                f"weight file {path} is damaged or was changed (SHA-256 {actual[:12]}..., SHA256SUMS records "
                f"{expected[:12]}...): {_restore_hint(path)}; after retraining it on purpose, update the line "
                "in SHA256SUMS"
            )
    return path


def load_model(path: str | Path) -> keras.Model:
    """The FSRCNN of a .keras file as a Keras model, checked as `check_file` does.

    The network is built by model.build_fsrcnn (of the size the file's arrays have) and Keras
    reads the weights into it from the archive: the architecture is this project's, so any
    Keras 3 loads any of its files (a newer Keras writes layer configs an older one cannot read).
    """
    from .model import build_fsrcnn

    shape = read_weights(path)  # checks the file; gives the size to build
    try:
        model = build_fsrcnn(shape.scale, d=shape.convs[0][0].shape[-1], s=shape.convs[1][0].shape[-1], m=shape.m)
        model.load_weights(path)
        return model
    except Exception as e:  # Keras raises many types for a damaged archive
        raise _unloadable(path, e) from e


@dataclass(frozen=True)
class Weights:
    """The numbers of one FSRCNN as numpy arrays, in layer order.

    convs: (kernel (h, w, in, out), bias (out,), PReLU slope (out,)) per convolution;
    deconv_kernel (9, 9, 1, d) and deconv_bias of the transposed convolution.
    """

    scale: int
    m: int
    convs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    deconv_kernel: np.ndarray
    deconv_bias: float

    @property
    def margin(self) -> int:
        """LR pixels of context each side of a tile (model.receptive_radius)."""
        return receptive_radius(self.scale, self.m)

    @property
    def taps(self) -> tuple[int, int]:
        """The LR offsets (lowest, highest) the deconvolution reads (model.deconv_taps)."""
        return deconv_taps(self.scale)

    def subpixel(self) -> np.ndarray:
        """The deconvolution as an ordinary (span, span, d, r*r) conv kernel (model.subpixel_kernel)."""
        return subpixel_kernel(self.deconv_kernel, self.scale)

    @classmethod
    def from_layers(cls, layers: list[tuple[str, dict, list[np.ndarray]]]) -> Weights:
        """From (class name, config, variables) per layer, as Keras lists them."""
        convs, deconv = [], None
        for name, config, variables in layers:
            if name == "Conv2D":
                kernel, bias = variables
                convs.append([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
            elif name == "PReLU":
                if not convs or len(convs[-1]) != 2:
                    raise ValueError("a PReLU that follows no convolution")
                convs[-1].append(np.asarray(variables[0], np.float32).reshape(-1))
            elif name == "Conv2DTranspose":
                deconv = (config, *variables)
        if deconv is None or len(convs) < 4 or any(len(c) != 3 for c in convs):
            raise ValueError("not an FSRCNN (convolutions with PReLU, then one transposed convolution)")
        config, kernel, bias = deconv
        return cls(scale=int(config["strides"][0]), m=len(convs) - 3, convs=tuple(tuple(c) for c in convs),
                   deconv_kernel=np.asarray(kernel, np.float32), deconv_bias=float(np.asarray(bias).reshape(-1)[0]))

    @classmethod
    def from_model(cls, model: keras.Model) -> Weights:
        return cls.from_layers([(type(layer).__name__, layer.get_config(), layer.get_weights())
                                for layer in model.layers])


def _snake(name: str) -> str:
    """Keras's names for layers inside model.weights.h5 (as keras.src.utils.naming.to_snake_case):
    Conv2D -> conv2d, Conv2DTranspose -> conv2d_transpose, PReLU -> p_re_lu."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def read_weights(path: str | Path) -> Weights:
    """The weights of a .keras file as numpy arrays, without Keras: checked as `load_model` does.

    model.weights.h5 stores each layer under its class name in snake case, numbered in layer
    order from the second of a kind on (conv2d, conv2d_1, ...); config.json gives that order.
    """
    import h5py

    path = check_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            h5 = io.BytesIO(archive.read("model.weights.h5"))
        layers, seen = [], {}
        with h5py.File(h5, "r") as f:
            for layer in config["config"]["layers"]:
                name = layer["class_name"]
                key = _snake(name)
                n = seen[key] = seen.get(key, -1) + 1
                group = f["layers"][key if n == 0 else f"{key}_{n}"]["vars"]
                variables = [group[str(i)][()] for i in range(len(group))]
                layers.append((name, layer["config"], variables))
        return Weights.from_layers(layers)
    except Exception as e:  # zipfile, json, h5py and a wrong layout all raise their own types
        raise _unloadable(path, e) from e
