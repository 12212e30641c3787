"""`Upscaler`, the inference class: any photo, any size, with or without the self-ensemble.

The app, the command line, evaluation and the benchmarks all go through it. Luma goes through
FSRCNN, chroma and alpha through MATLAB-compatible bicubic, as in the paper.

Images are processed in tiles. Each tile is read with a margin of `receptive_radius` LR pixels
of real (or, at the image border, mirrored) context, and only its centre is kept, so every
output pixel is computed from exactly the same input whatever tile or batch it falls in: the
tiled result equals the untiled one, and memory stays bounded for any image size.

Each tile runs as one compiled program of an engine (fsrcnn/engines/): the network (or its
self-ensemble), bicubic chroma and alpha, the colour conversion and the rounding, so no numpy
pass touches the HR pixels. OpenVINO on the CPU when it is installed (it never loads
TensorFlow), XLA on a GPU or without OpenVINO; benchmarks/speed.py compares them.
"""
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import engines
from .color import gray_to_y, rgb_to_ycbcr, to_uint8
from .ensemble import DIHEDRAL
from .images import Loaded, array_to_image, image_to_array
from .imresize import upscale_plane
from .models import SCALES, VARIANTS, Bank
from .weights import Weights, WeightsError, read_weights

__all__ = ["DEFAULT_TILE", "SCALES", "Upscaler", "WeightsError", "bicubic_array", "bicubic_image", "upscale_image"]

SHAPE_STEP = 32  # network input sizes are rounded up to a multiple of this (few compiled shapes)
# Per engine: LR pixels per tile side and tiles in flight, the fastest found with benchmarks/speed.py
# on 2 cores. OpenVINO and ONNX Runtime: one large tile at a time, every core on it (their own
# threads); XLA: two tiles.
DEFAULT_TILE = {"openvino": 512, "xla": 192, "onnxruntime": 512}
DEFAULT_WORKERS = {"openvino": 1, "xla": 2, "onnxruntime": 1}

Progress = Callable[[int, int], None]  # (passes done, passes in all)


def _tensorflow_gpus() -> list:
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU")


def _gpu_possible() -> bool:
    """Whether TensorFlow might see a GPU, without importing it (that takes seconds) when it cannot:
    no GPU driver, no GPU."""
    if "tensorflow" in sys.modules or sys.platform == "darwin":
        return True
    drivers = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")  # CUDA, ROCm, WSL
    return any(Path(p).exists() for p in drivers)


def pick_device(device: str | None = None) -> str:
    """'/GPU:0' when TensorFlow sees a GPU (or one is asked for), '/CPU:0' otherwise."""
    if device is None:
        return "/GPU:0" if _gpu_possible() and _tensorflow_gpus() else "/CPU:0"
    device = device.lower()
    if device == "cpu":
        return "/CPU:0"
    if device == "gpu":
        if not _tensorflow_gpus():
            raise ValueError("--device gpu was asked for, but TensorFlow sees no GPU")
        return "/GPU:0"
    raise ValueError(f"unknown device {device!r}: use cpu or gpu")


ENGINES = {name: display for name, (display, _) in engines.ENGINES.items()}


def pick_engine(device: str, engine: str | None = None) -> str:
    """'openvino' on the CPU when it is installed, 'xla' otherwise."""
    if engine is None:
        return "openvino" if "GPU" not in device and engines.installed("openvino") else "xla"
    engine = engine.lower()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    if engine == "openvino" and "GPU" in device:
        raise ValueError("the OpenVINO engine runs on the CPU only; use --engine xla on the GPU")
    return engine


def _as_weights(model) -> Weights:
    return model if isinstance(model, Weights) else Weights.from_model(model)


class Upscaler:
    """Loads the weights once and upscales luma planes and images, in tiles, with one engine.

    bank: the weight files to load (models.Bank; default: those installed in `weights_dir` for
    `scales`, of `variants`, clean required). models: {scale or (variant, scale): Keras model or
    weights.Weights} instead of files. What was loaded is `self.bank`. threads: CPU threads the engine may use
    (default: every core).
    """

    def __init__(self, scales=SCALES, weights_dir=None, device: str | None = None, tile: int | None = None,
                 models=None, workers: int | None = None, engine: str | None = None,
                 variants=tuple(VARIANTS), bank: Bank | None = None, threads: int | None = None):
        self.device = pick_device(device)
        self.threads = threads  # CPU threads of the engine (default: every core), e.g. a Ray actor's share
        self.engine = pick_engine(self.device, engine)
        self.workers = max(1, int(DEFAULT_WORKERS[self.engine] if workers is None else workers))  # tiles in flight
        self.tile = int(DEFAULT_TILE[self.engine] if tile is None else tile)
        if self.tile < 1:
            raise ValueError("tile size must be at least 1 pixel")
        if models:
            self.weights = {(k if isinstance(k, tuple) else ("clean", k)): _as_weights(m) for k, m in models.items()}
        else:
            bank = bank or Bank.scan(scales, weights_dir, variants)
            self.weights = {}
            for (variant, scale), path in sorted(bank.paths.items()):
                self.weights[variant, scale] = read_weights(path)
                if self.weights[variant, scale].scale != scale:
                    raise WeightsError(f"weight file {path} holds an x{self.weights[variant, scale].scale} "
                                       f"model, not x{scale}")
        self.bank = Bank(self.weights, {} if models else bank.paths)  # paths: what evaluate --record names
        self._programs, self._programs_lock = {}, threading.Lock()  # tiles ask from several threads
        self._running, self._quiet = 0, threading.Condition()  # blocks in flight; release_memory waits for 0
        self._requests, self._warm, self._warming = 0, threading.Event(), threading.Event()  # see serving, warm_up

    @property
    def device_name(self) -> str:
        """Where and with what the network runs, e.g. 'CPU (OpenVINO)'."""
        return f"{'GPU' if 'GPU' in self.device else 'CPU'} ({ENGINES[self.engine]})"

    @property
    def scales(self) -> tuple[int, ...]:
        return self.bank.scales

    @property
    def variants(self) -> tuple[str, ...]:
        """The models loaded, in registry order (e.g. ('clean',) or ('clean', 'photo'))."""
        return self.bank.installed()

    def margin(self, scale: int, model: str = "clean") -> int:
        return self.weights[model, scale].margin

    def _check(self, scale: int, model: str) -> None:
        self.bank.check(model, scale)

    def _program(self, scale: int, tta: bool, kind: str, model: str):
        """The compiled program for one tile of `kind` (see fsrcnn/engines/__init__.py).

        Each program compiles under its own lock: a request that needs one compiled program
        never waits for the compilation of another (the warm-up's, say)."""
        key = (model, scale, tta, kind)
        with self._programs_lock:
            if key not in self._programs:
                self._programs[key] = [None, threading.Lock()]
            slot = self._programs[key]
        with slot[1]:
            if slot[0] is None:
                program = engines.load(self.engine)
                slot[0] = program(self.weights[model, scale], scale, tta, kind, device=self.device,
                                  streams=self.workers, threads=self.threads)
        return slot[0]

    def _tiles(self, h: int, w: int):
        for y in range(0, h, self.tile):
            for x in range(0, w, self.tile):
                yield y, x, min(self.tile, h - y), min(self.tile, w - x)

    @contextmanager
    def serving(self):
        """A context a request holds while it lasts: the warm-up compiles nothing meanwhile, so the
        request has the cores to itself (what it needs and is not compiled yet, it compiles itself)."""
        with self._quiet:
            self._requests += 1
        try:
            yield
        finally:
            with self._quiet:
                self._requests -= 1
                self._quiet.notify_all()

    @property
    def warm(self) -> bool:
        """Whether warm_up has compiled everything."""
        return self._warm.is_set()

    @property
    def warming(self) -> bool:
        """Whether warm_up is under way (started, not finished)."""
        return self._warming.is_set() and not self._warm.is_set()

    def warm_up(self, tta: bool = True, kinds=("rgb",), first=()) -> None:
        """Compile the programs for a full tile at every scale and model now, instead of on the first request.

        Most used first: `first` (e.g. the scale a page offers first), then plain before self-ensemble,
        clean before the others. Before each program it waits until no request is being served (see
        `serving`), so a visitor never waits for a program their request does not use."""
        self._warming.set()
        order = sorted(self.weights, key=lambda k: (k[1] not in first, k[0] != "clean", k[1]))
        jobs = [(model, scale, kind, t) for t in ((False, True) if tta else (False,))
                for model, scale in order for kind in kinds]
        jobs.sort(key=lambda j: (j[3], j[1] not in first))
        for model, scale, kind, t in jobs:
            with self._quiet:
                self._quiet.wait_for(lambda: self._requests == 0)
            side = self.tile + 2 * self.margin(scale, model)
            block = np.zeros((side, side, engines.CHANNELS[kind]), np.float32)
            self._run_block(block, scale, t, kind, model)
            self.release_memory()  # compiled and ready; its buffers come back with a request
        self._warm.set()

    def passes(self, shape: tuple[int, int], tta: bool) -> int:
        """Network passes (tiles x transforms) for an LR image of this size, for progress bars."""
        return len(list(self._tiles(*shape))) * (len(DIHEDRAL) if tta else 1)

    def _block_side(self, side: int, scale: int, model: str = "clean") -> int:
        """The program's input size for `side` LR pixels: rounded up to SHAPE_STEP, plus margins."""
        return -(-side // SHAPE_STEP) * SHAPE_STEP + 2 * self.margin(scale, model)

    def _run_block(self, block: np.ndarray, scale: int, tta: bool, kind: str, model: str) -> np.ndarray:
        """One margin-padded (h, w, c) tile through its program; returns the HR tile, margins included.

        The tile is first padded at its bottom/right up to a multiple of SHAPE_STEP inside the
        margins, so that only a few distinct shapes reach the compiler (each compiles once); the
        extra pixels lie outside every kept pixel's receptive field and are cropped again.
        """
        h, w = block.shape[:2]
        inner = 2 * self.margin(scale, model)
        grow = (self._block_side(h - inner, scale, model) - h, self._block_side(w - inner, scale, model) - w)
        x = np.pad(block, ((0, grow[0]), (0, grow[1]), (0, 0)), mode="edge")[None]
        program = self._program(scale, tta, kind, model)
        with self._quiet:
            self._running += 1
        try:
            return program(x)[: h * scale, : w * scale]
        finally:
            with self._quiet:
                self._running -= 1
                self._quiet.notify_all()

    def release_memory(self) -> None:
        """Free the engines' working buffers (they are allocated again, as large as needed, on the next
        block): a server that has compiled a program for every scale and model would otherwise hold
        the buffers of all of them. Waits until no block is in flight; new blocks wait for it."""
        with self._quiet:
            self._quiet.wait_for(lambda: self._running == 0)
            with self._programs_lock:
                programs = list(self._programs.values())
            for program, _ in programs:
                if program is not None:
                    program.release_memory()

    def _padded(self, planes: np.ndarray, scale: int, model: str) -> np.ndarray:
        """An (H, W, C) float image (luma in 0..1 first) mirrored by the network's margin, as
        _run_tiles takes it. Callers drop `planes` then: one full-size float copy in memory, not two."""
        self._check(scale, model)
        m = self.margin(scale, model)
        return np.pad(planes, ((m, m), (m, m), (0, 0)), mode="symmetric")

    def _run_tiles(self, padded: np.ndarray, scale: int, tta: bool, progress, kind: str, out: np.ndarray,
                   model: str) -> None:
        """Walk the tiles of a _padded image and fill `out`."""
        m = self.margin(scale, model)
        h, w = padded.shape[0] - 2 * m, padded.shape[1] - 2 * m
        total, done, lock = self.passes((h, w), tta), [0], threading.Lock()

        def one_tile(tile):
            ty, tx, th, tw = tile
            block = padded[ty : ty + th + 2 * m, tx : tx + tw + 2 * m]
            sr = self._run_block(block, scale, tta, kind, model)
            out[ty * scale : (ty + th) * scale, tx * scale : (tx + tw) * scale] = sr[
                m * scale : (m + th) * scale, m * scale : (m + tw) * scale
            ]
            with lock:  # tiles finish on several threads
                done[0] += len(DIHEDRAL) if tta else 1
                if progress:
                    progress(done[0], total)

        # With several tiles in flight, one tile's numpy slicing overlaps another's program, and
        # XLA keeps every core busy between layers; tiles write disjoint parts of `out`.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for _ in pool.map(one_tile, self._tiles(h, w)):
                pass

    def upscale_luma(self, y: np.ndarray, scale: int, tta: bool = False, progress: Progress | None = None,
                     model: str = "clean") -> np.ndarray:
        """(H, W) luma in 0..1 -> (scale*H, scale*W) float32, not clipped."""
        y = np.asarray(y, np.float32)
        if y.ndim != 2 or min(y.shape) < 1:
            raise ValueError(f"expected a non-empty 2-D luma plane, got shape {y.shape}")
        out = np.empty((y.shape[0] * scale, y.shape[1] * scale), np.float32)
        self._run_tiles(self._padded(y[..., None], scale, model), scale, tta, progress, "luma", out, model)
        return out

    def upscale_array(self, img: np.ndarray, scale: int, tta: bool = False, progress: Progress | None = None,
                      model: str = "clean") -> np.ndarray:
        """uint8 (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA -> uint8 of scale x the size.

        Luma by FSRCNN (the `model` variant); Cb, Cr and alpha by MATLAB bicubic; clipped and
        rounded once at the end. Each tile is finished (colour converted, rounded) before the
        next, so memory holds the input and output images plus one tile, whatever the image size.
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
        padded = self._padded(planes, scale, model)
        del planes
        out = np.empty((img.shape[0] * scale, img.shape[1] * scale) + img.shape[2:], np.uint8)
        self._run_tiles(padded, scale, tta, progress, kind, out, model)
        return out


def bicubic_array(img: np.ndarray, scale: int) -> np.ndarray:
    """The baseline: MATLAB bicubic on every channel, rounded to uint8."""
    if img.ndim == 2:
        return to_uint8(upscale_plane(img, scale))
    return np.stack([to_uint8(upscale_plane(img[..., c], scale)) for c in range(img.shape[2])], axis=-1)


def upscale_image(upscaler: Upscaler, loaded: Loaded, scale: int, tta: bool = False,
                  progress: Progress | None = None, model: str = "clean"):
    """FSRCNN on a normalised image (see images.open_image); same mode out, ICC profile kept."""
    im = loaded.image
    out = upscaler.upscale_array(image_to_array(im), scale, tta, progress, model)
    return array_to_image(out, im.mode, loaded.icc_profile)


def bicubic_image(loaded: Loaded, scale: int):
    im = loaded.image
    return array_to_image(bicubic_array(image_to_array(im), scale), im.mode, loaded.icc_profile)
