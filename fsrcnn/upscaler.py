"""The shared inference module: any photo, any size, with or without the self-ensemble.

The app, the command line, evaluation and the benchmarks all go through `Upscaler`. Luma goes
through FSRCNN, chroma and alpha through MATLAB-compatible bicubic, as in the paper.

Images are processed in tiles. Each tile is read with a margin of `receptive_radius` LR pixels
of real (or, at the image border, mirrored) context, and only its centre is kept, so every
output pixel is computed from exactly the same input whatever tile or batch it falls in: the
tiled result equals the untiled one, and memory stays bounded for any image size.

Each tile runs as one compiled program: the network (or its self-ensemble), bicubic chroma
and alpha, the colour conversion and the rounding, so no numpy pass touches the HR pixels.
On the CPU, OpenVINO compiles it (openvino_engine.py: its convolution kernels are about twice
as fast as XLA's on FSRCNN's small layers); on a GPU, or without OpenVINO, XLA does.
"""
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from .color import YCBCR_OFFSET, YCBCR_TO_RGB, gray_to_y, rgb_to_ycbcr, to_uint8, y_to_gray
from .images import Loaded
from .imresize import upscale_kernel, upscale_plane
from .model import FastFSRCNN, architecture, receptive_radius

SCALES = (2, 3, 4)
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHAPE_STEP = 32  # network input sizes are rounded up to a multiple of this (few compiled shapes)
# Per engine: LR pixels per tile side and tiles in flight, the fastest measured on 2 cores.
# OpenVINO: one large tile at a time, every core on it (its own threads); XLA: two 192 tiles.
DEFAULT_TILE = {"openvino": 512, "xla": 192}
DEFAULT_WORKERS = {"openvino": 1, "xla": 2}

Progress = Callable[[int, int], None]  # (passes done, passes in all)


class WeightsError(RuntimeError):
    """A weight file is missing or unusable; the message names the file and how to get it back."""


def weights_path(scale: int, weights_dir: str | Path | None = None) -> Path:
    return Path(weights_dir or WEIGHTS_DIR) / f"fsrcnn_x{scale}.keras"


def recorded_sha256(path: Path) -> str | None:
    """The checksum that SHA256SUMS beside a weight file records for it (`sha256sum` format)."""
    sums = path.parent / "SHA256SUMS"
    if not sums.exists():
        return None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == path.name:
            return parts[0].lower()
    raise WeightsError(f"{sums} does not list {path.name}: add its line with `sha256sum {path.name} >> SHA256SUMS`")


def load_model(path: str | Path) -> keras.Model:
    """Load a .keras model, first checking it against the SHA256SUMS file beside it, if there is one."""
    path = Path(path)
    shipped = path.resolve().parent == Path(WEIGHTS_DIR).resolve()
    restore = (f"restore it with `git checkout -- weights/{path.name}`" if shipped else "copy it back")
    restore += " or train it again (weights/README.md gives the command)"
    if not path.exists():
        raise WeightsError(f"weight file {path} is missing: {restore}")
    expected = recorded_sha256(path)
    if expected is not None:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise WeightsError(
                f"weight file {path} is damaged or was changed (SHA-256 {actual[:12]}..., SHA256SUMS records "
                f"{expected[:12]}...): {restore}; after retraining it on purpose, update the line in SHA256SUMS"
            )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for a damaged archive
        raise WeightsError(f"weight file {path} cannot be loaded ({type(e).__name__}: {e}): {restore}") from e


def pick_device(device: str | None = None) -> str:
    """'/GPU:0' when TensorFlow sees a GPU (or one is asked for), '/CPU:0' otherwise."""
    gpus = tf.config.list_logical_devices("GPU")
    if device is None:
        return "/GPU:0" if gpus else "/CPU:0"
    device = device.lower()
    if device == "cpu":
        return "/CPU:0"
    if device == "gpu":
        if not gpus:
            raise ValueError("--device gpu was asked for, but TensorFlow sees no GPU")
        return "/GPU:0"
    raise ValueError(f"unknown device {device!r}: use cpu or gpu")


ENGINES = {"openvino": "OpenVINO", "xla": "XLA"}


def pick_engine(device: str, engine: str | None = None) -> str:
    """'openvino' on the CPU when it is installed (about twice XLA's speed there), 'xla' otherwise."""
    if engine is None:
        if "GPU" in device:
            return "xla"
        try:
            import openvino  # noqa: F401
        except ImportError:
            return "xla"
        return "openvino"
    engine = engine.lower()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    if engine == "openvino" and "GPU" in device:
        raise ValueError("the OpenVINO engine runs on the CPU only; use --engine xla on the GPU")
    return engine


def luma_forward(net: keras.Model, y: np.ndarray, scale: int) -> np.ndarray:
    """Reference path: the plain Keras model on one whole mirror-padded luma plane (0..1).

    Used for validation during training, and by tests as the ground truth that the fast,
    tiled path of `Upscaler` must reproduce.
    """
    m = receptive_radius(scale, architecture(net)["m"])
    h, w = y.shape
    padded = np.pad(np.asarray(y, np.float32), m, mode="symmetric")
    out = np.asarray(net(padded[None, :, :, None], training=False))[0, :, :, 0]
    return out[m * scale : (m + h) * scale, m * scale : (m + w) * scale]


# The 8 symmetries of the square as (transpose?, k quarter-turns) on the H, W axes of NHWC batches.
DIHEDRAL = [(False, k) for k in range(4)] + [(True, k) for k in range(4)]


def _rot90(x, k: int):
    """np.rot90(x, k, axes=(1, 2)) for NHWC tensors."""
    for _ in range(k % 4):
        x = tf.transpose(tf.reverse(x, [2]), (0, 2, 1, 3))
    return x


def _forward_transform(x, t):
    transpose, k = t
    return _rot90(tf.transpose(x, (0, 2, 1, 3)) if transpose else x, k)


def _inverse_transform(x, t):
    transpose, k = t
    x = _rot90(x, -k)
    return tf.transpose(x, (0, 2, 1, 3)) if transpose else x


def self_ensemble(net: Callable, x):
    """Mean over the 8 symmetries of net(transformed x), each transformed back (geometric TTA).

    Views that share a shape run as one batch: quarter turns of the plain and the transposed
    image alternate between (H, W) and (W, H), so two batches of four cover any tile.
    """
    groups = [[t for t in DIHEDRAL if (t[0] + t[1]) % 2 == parity] for parity in (0, 1)]
    total = 0.0
    for group in groups:
        out = net(tf.concat([_forward_transform(x, t) for t in group], axis=0))
        for i, t in enumerate(group):
            total += _inverse_transform(out[i : i + 1], t)
    return total / len(DIHEDRAL)


class Upscaler:
    """Loads the weights once and upscales luma planes, arrays and PIL images."""

    def __init__(self, scales=SCALES, weights_dir=None, device: str | None = None, tile: int | None = None,
                 models=None, workers: int | None = None, engine: str | None = None):
        self.device = pick_device(device)
        self.engine = pick_engine(self.device, engine)
        self.workers = max(1, int(DEFAULT_WORKERS[self.engine] if workers is None else workers))  # tiles in flight
        self.tile = int(DEFAULT_TILE[self.engine] if tile is None else tile)
        if self.tile < 1:
            raise ValueError("tile size must be at least 1 pixel")
        models = models or {s: load_model(weights_path(s, weights_dir)) for s in scales}
        self.models = dict(models)
        self.margins = {s: receptive_radius(s, architecture(m)["m"]) for s, m in self.models.items()}
        with tf.device(self.device):
            self._nets = {s: FastFSRCNN(m) for s, m in self.models.items()}
        self._programs, self._programs_lock = {}, threading.Lock()  # tiles ask from several threads

    @property
    def device_name(self) -> str:
        """Where and with what the network runs, e.g. 'CPU (OpenVINO)'."""
        return f"{'GPU' if 'GPU' in self.device else 'CPU'} ({ENGINES[self.engine]})"

    @property
    def scales(self) -> tuple[int, ...]:
        return tuple(sorted(self.models))

    def _check_scale(self, scale: int):
        if scale not in self.models:
            raise ValueError(f"scale must be one of {', '.join(f'x{s}' for s in self.scales)}, got {scale!r}")

    def _program(self, scale: int, tta: bool, kind: str):
        """The compiled program for one tile: FSRCNN on luma (optionally the self-ensemble), the
        other planes by MATLAB bicubic and, for images, colour conversion and rounding to uint8.

        kind 'luma' returns HR luma (0..1 floats); 'gray', 'rgb' and 'rgba' return uint8 pixels.
        Keeping every step in one XLA program spares the numpy passes over the HR tile.
        """
        key = (scale, tta, kind)
        with self._programs_lock:
            if key not in self._programs:
                self._programs[key] = self._build_program(scale, tta, kind)
        return self._programs[key]

    def _build_program(self, scale: int, tta: bool, kind: str):
        channels = {"luma": 1, "gray": 1, "rgb": 3, "rgba": 4}[kind]
        if self.engine == "openvino":
            from .openvino_engine import Program

            return Program(self._nets[scale], scale, tta, kind, channels, streams=self.workers,
                           full_shape=(self._block_side(self.tile, scale),) * 2)
        net = self._nets[scale]
        kernel, reach = upscale_kernel(scale)
        to_rgb = tf.constant(YCBCR_TO_RGB.T, tf.float32)
        offset = tf.constant(YCBCR_OFFSET, tf.float32)

        def bicubic(planes):  # (1, h, w, c) -> (1, scale*h, scale*w, c), the border mirrored
            x = tf.transpose(planes, (3, 1, 2, 0))
            x = tf.pad(x, [[0, 0], [reach, reach], [reach, reach], [0, 0]], mode="SYMMETRIC")
            x = tf.nn.depth_to_space(tf.nn.conv2d(x, kernel, 1, "VALID"), scale)
            return tf.transpose(x, (3, 1, 2, 0))

        def uint8(x):  # as color.to_uint8: clip, round half up
            return tf.cast(tf.floor(tf.clip_by_value(x, 0.0, 255.0) + 0.5), tf.uint8)

        def run(block):
            y = self_ensemble(net.forward, block[..., :1]) if tta else net.forward(block[..., :1])
            if kind == "luma":
                return y[0, :, :, 0]
            y = y * 255.0
            if kind == "gray":
                return uint8(y_to_gray(y))[0, :, :, 0]
            ycc = tf.concat([y, bicubic(block[..., 1:3])], axis=-1)
            rgb = uint8(tf.tensordot(ycc - offset, to_rgb, 1))
            if kind == "rgba":
                rgb = tf.concat([rgb, uint8(bicubic(block[..., 3:]))], axis=-1)
            return rgb[0]

        spec = [tf.TensorSpec([1, None, None, channels], tf.float32)]
        with tf.device(self.device):
            program = tf.function(run, input_signature=spec, jit_compile=True)

        def call(block):
            with tf.device(self.device):
                return program(block).numpy()

        return call

    def _tiles(self, h: int, w: int):
        for y in range(0, h, self.tile):
            for x in range(0, w, self.tile):
                yield y, x, min(self.tile, h - y), min(self.tile, w - x)

    def warm_up(self, tta: bool = True, kinds=("rgb",)) -> None:
        """Compile the programs for a full tile at every scale now, instead of on the first request."""
        for scale in self.scales:
            for kind in kinds:
                side = self.tile + 2 * self.margins[scale]
                block = np.zeros((side, side, 4 if kind == "rgba" else 3 if kind == "rgb" else 1), np.float32)
                for t in (False, True) if tta else (False,):
                    self._run_block(block, scale, t, kind)

    def passes(self, shape: tuple[int, int], tta: bool) -> int:
        """Network passes (tiles x transforms) for an LR image of this size, for progress bars."""
        return len(list(self._tiles(*shape))) * (len(DIHEDRAL) if tta else 1)

    def _block_side(self, side: int, scale: int) -> int:
        """The program's input size for `side` LR pixels: rounded up to SHAPE_STEP, plus margins."""
        return -(-side // SHAPE_STEP) * SHAPE_STEP + 2 * self.margins[scale]

    def _run_block(self, block: np.ndarray, scale: int, tta: bool, kind: str) -> np.ndarray:
        """One margin-padded (h, w, c) tile through its program; returns the HR tile, margins included.

        The tile is first padded at its bottom/right up to a multiple of SHAPE_STEP inside the
        margins, so that only a few distinct shapes reach the compiler (each compiles once); the
        extra pixels lie outside every kept pixel's receptive field and are cropped again.
        """
        h, w = block.shape[:2]
        inner = 2 * self.margins[scale]
        grow = (self._block_side(h - inner, scale) - h, self._block_side(w - inner, scale) - w)
        x = np.pad(block, ((0, grow[0]), (0, grow[1]), (0, 0)), mode="edge")[None]
        return self._program(scale, tta, kind)(x)[: h * scale, : w * scale]

    def _run_tiles(self, planes: np.ndarray, scale: int, tta: bool, progress, kind: str, out: np.ndarray) -> None:
        """Walk the tiles of an (H, W, C) float image (luma in 0..1 first) and fill `out`."""
        self._check_scale(scale)
        m, (h, w) = self.margins[scale], planes.shape[:2]
        padded = np.pad(planes, ((m, m), (m, m), (0, 0)), mode="symmetric")
        total, done, lock = self.passes((h, w), tta), [0], threading.Lock()

        def one_tile(tile):
            ty, tx, th, tw = tile
            block = padded[ty : ty + th + 2 * m, tx : tx + tw + 2 * m]
            sr = self._run_block(block, scale, tta, kind)
            out[ty * scale : (ty + th) * scale, tx * scale : (tx + tw) * scale] = sr[
                m * scale : (m + th) * scale, m * scale : (m + tw) * scale
            ]
            with lock:  # tiles finish on several threads
                done[0] += len(DIHEDRAL) if tta else 1
                if progress:
                    progress(done[0], total)

        # With XLA, two tiles in flight keep both cores busy between layers and overlap one
        # tile's numpy slicing with the other's program; tiles write disjoint parts of `out`.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for _ in pool.map(one_tile, self._tiles(h, w)):
                pass

    def upscale_luma(self, y: np.ndarray, scale: int, tta: bool = False, progress: Progress | None = None) -> np.ndarray:
        """(H, W) luma in 0..1 -> (scale*H, scale*W) float32, not clipped."""
        y = np.asarray(y, np.float32)
        if y.ndim != 2 or min(y.shape) < 1:
            raise ValueError(f"expected a non-empty 2-D luma plane, got shape {y.shape}")
        out = np.empty((y.shape[0] * scale, y.shape[1] * scale), np.float32)
        self._run_tiles(y[..., None], scale, tta, progress, "luma", out)
        return out

    def upscale_array(self, img: np.ndarray, scale: int, tta: bool = False, progress: Progress | None = None) -> np.ndarray:
        """uint8 (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA -> uint8 of scale x the size.

        Luma by FSRCNN; Cb, Cr and alpha by MATLAB bicubic; clipped and rounded once at the end.
        Each tile is finished (colour converted, rounded) before the next, so memory holds the
        input and output images plus one tile, whatever the image size.
        """
        img = np.asarray(img)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
            raise ValueError(f"expected a uint8 gray, RGB or RGBA array, got {img.dtype} {img.shape}")
        if min(img.shape[:2]) < 1:
            raise ValueError(f"the image is empty ({img.shape[1]}x{img.shape[0]} pixels)")
        gray = img.ndim == 2
        planes = gray_to_y(img)[..., None] if gray else rgb_to_ycbcr(img[..., :3])
        planes[..., 0] /= 255.0
        kind = "gray" if gray else "rgb"
        if not gray and img.shape[2] == 4:
            planes = np.concatenate([planes, img[..., 3:].astype(np.float32)], axis=-1)
            kind = "rgba"
        out = np.empty((img.shape[0] * scale, img.shape[1] * scale) + img.shape[2:], np.uint8)
        self._run_tiles(planes, scale, tta, progress, kind, out)
        return out


def bicubic_array(img: np.ndarray, scale: int) -> np.ndarray:
    """The baseline: MATLAB bicubic on every channel, rounded to uint8."""
    if img.ndim == 2:
        return to_uint8(upscale_plane(img, scale))
    return np.stack([to_uint8(upscale_plane(img[..., c], scale)) for c in range(img.shape[2])], axis=-1)


def _as_array(im: Image.Image) -> np.ndarray:
    arr = np.asarray(im)
    if im.mode == "LA":  # gray + alpha rides the RGBA path with three equal colour channels
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=-1), arr[..., 1:]], axis=-1)
    return arr


def _as_image(arr: np.ndarray, mode: str, icc: bytes | None) -> Image.Image:
    if mode == "LA":
        arr = np.stack([arr[..., 0], arr[..., 3]], axis=-1)
    out = Image.fromarray(np.ascontiguousarray(arr))  # mode follows from the shape
    if icc:
        out.info["icc_profile"] = icc
    return out


def upscale_image(upscaler: Upscaler, loaded: Loaded, scale: int, tta: bool = False, progress: Progress | None = None) -> Image.Image:
    """FSRCNN on a normalised image (see images.open_image); same mode out, ICC profile kept."""
    im = loaded.image
    return _as_image(upscaler.upscale_array(_as_array(im), scale, tta, progress), im.mode, loaded.icc_profile)


def bicubic_image(loaded: Loaded, scale: int) -> Image.Image:
    im = loaded.image
    return _as_image(bicubic_array(_as_array(im), scale), im.mode, loaded.icc_profile)


def save_png(im: Image.Image, path: str | Path, compress_level: int = 6) -> None:
    """Lossless PNG, with the ICC profile when there is one (lower compress_level: faster, bigger)."""
    icc = im.info.get("icc_profile")
    im.save(path, format="PNG", compress_level=compress_level, **({"icc_profile": icc} if icc else {}))
