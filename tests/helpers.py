"""Helpers shared by the tests (import them from here, not from conftest)."""
import io
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WEIGHTS = ROOT / "weights"


def synthetic_photo(size: int = 96, seed: int = 0) -> np.ndarray:
    """A small RGB picture with what photos have: smooth shading, sharp edges, lines, fine texture."""
    from PIL import ImageDraw, ImageFilter

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


def as_file(im: Image.Image, fmt: str = "PNG", **kw) -> io.BytesIO:
    """An image encoded in memory, as an upload or a file on disk would be."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    buf.seek(0)
    return buf


def make_two_model_weights(folder: Path, scales=(2, 3, 4), light: bool = False) -> Path:
    """Untrained stand-ins for the weight variants, clean and photo (and light), that give different pixels."""
    import keras

    from fsrcnn.model import build_fsrcnn

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for variant, seed in (("", 0), ("photo_", 1)) + ((("photo_light_", 2),) if light else ()):
        keras.utils.set_random_seed(seed)
        for scale in scales:
            model = build_fsrcnn(scale)
            kernel, bias = model.get_layer("deconv").get_weights()
            noise = np.random.default_rng(10 * seed + scale).normal(0, 0.02, kernel.shape)
            model.get_layer("deconv").set_weights([noise, bias])
            model.save(folder / f"fsrcnn_{variant}x{scale}.keras")
    return folder


def write(tmp_path, arr_or_image, name="photo.png", **save_kw) -> str:
    im = arr_or_image if isinstance(arr_or_image, Image.Image) else Image.fromarray(arr_or_image)
    path = tmp_path / name
    im.save(path, **save_kw)
    return str(path)


def pixels(path_or_image) -> np.ndarray:
    if isinstance(path_or_image, Image.Image):
        return np.asarray(path_or_image)
    with Image.open(path_or_image) as im:
        assert im.format == "PNG"
        return np.asarray(im)


def assert_same_pixels(crop: np.ndarray, full: np.ndarray):
    """Equal, up to a rounding tie: the engine's full-tile and edge-tile programs may round a value
    that lies within float error of .5 differently (tests/test_upscaler.py allows the same)."""
    assert crop.shape == full.shape
    diff = np.abs(crop.astype(int) - full)
    assert diff.max() == 0, f"{(diff > 0).sum()} values differ, by up to {diff.max()}"
