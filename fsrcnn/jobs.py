"""The app's jobs: one request's photo, ready for any region or the whole result, and the store
that keeps the last few so that moving the region does not read the photo again.

The store also owns the folder the app writes into: one sub-folder per request, removed once
older than `keep_seconds` (Gradio has copied the files into its own cache long before).
"""
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .checks import COMPARE, InputError
from .models import LIGHT, VARIANTS
from .quality import CLEAN

ORIGINAL, BICUBIC, FSRCNN, PHOTO, ENSEMBLE = "original", "bicubic", "fsrcnn", "photo", "ensemble"
METHODS = (ORIGINAL, BICUBIC, FSRCNN, PHOTO, ENSEMBLE)  # the order of the crops on the page
TITLES = {
    ORIGINAL: "Original",
    BICUBIC: "Bicubic",
    FSRCNN: "FSRCNN",
    PHOTO: "FSRCNN, photo model",
    ENSEMBLE: "FSRCNN + self-ensemble",
}
KEEP_JOBS = 4  # photos kept decoded for moving the region; older ones are read again from their file
KEEP_BYTES = 600_000_000


@dataclass
class Choice:
    """Which weights ran and why, in words for the visitor."""

    model: str
    reason: str


@dataclass
class Job:
    """One request's input, ready for computing any region or the whole result."""

    token: str
    mode: str
    source: str  # the file it was read from (read again if this job is evicted)
    name: str  # the visitor's name for the file
    scale: int
    tta: bool
    requested: str  # the model asked for: auto, clean or photo
    degradation: str  # compare mode
    choice: Choice
    photo_weights: str | None  # what the photo crop shows: photo or light (quality.choose), None if not installed
    lr: np.ndarray  # the network's input, as upscaler arrays are: (H, W), (H, W, 3) or (H, W, 4) uint8
    mode_of_image: str  # PIL mode of the input (L, LA, RGB, RGBA): the result's
    icc: bytes | None
    notes: list[str]
    overview: Image.Image  # the whole photo (upscale: the input; compare: the original), small
    centre: tuple[float, float]  # of the detail region, in LR pixels
    hr: np.ndarray | None = None  # compare mode: the original, modcropped
    methods: tuple[str, ...] = ()
    evidence: str = ""  # compare mode: what the visitor's own file shows (the model is chosen for the shrunk copy)

    @property
    def lr_size(self) -> tuple[int, int]:
        return self.lr.shape[1], self.lr.shape[0]

    @property
    def out_size(self) -> tuple[int, int]:
        return self.lr.shape[1] * self.scale, self.lr.shape[0] * self.scale

    @property
    def best(self) -> str:
        """The method of the result worth downloading: what was asked for, at its best."""
        return ENSEMBLE if self.tta else (FSRCNN if self.choice.model == CLEAN else PHOTO)

    def model_of(self, key: str) -> str:
        return {FSRCNN: CLEAN, PHOTO: self.photo_weights, ENSEMBLE: self.choice.model}[key]

    def title(self, key: str) -> str:
        if key == ORIGINAL:
            return "Original (ground truth)" if self.mode == COMPARE else "Original, enlarged by nearest neighbour"
        if key == ENSEMBLE and self.choice.model != CLEAN:
            return f"FSRCNN {VARIANTS[self.choice.model].display} + self-ensemble"
        if key == PHOTO and self.photo_weights == LIGHT.name:
            return f"FSRCNN, {LIGHT.display}"
        return TITLES[key]


class JobStore:
    """The last KEEP_JOBS jobs (and at most KEEP_BYTES of their pixels), and the app's output folder.

    Without `output_dir`, a temporary folder is used and removed when the process exits.
    """

    def __init__(self, output_dir: str | Path | None = None, keep_seconds: float = 3600):
        self.keep_seconds = keep_seconds
        if output_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fsrcnn-app-")
            output_dir = self._tmp.name
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.token] = job
            while len(self._jobs) > 1 and (len(self._jobs) > KEEP_JOBS or sum(
                    j.lr.nbytes + (j.hr.nbytes if j.hr is not None else 0) for j in self._jobs.values()) > KEEP_BYTES):
                self._jobs.popitem(last=False)

    def get(self, token: str | None, again: Callable[[], Job] | None = None) -> Job:
        """A job remembered earlier; `again()` (reading it from its file) when it was evicted."""
        with self._lock:
            if token in self._jobs:
                self._jobs.move_to_end(token)
                return self._jobs[token]
        if again is None:
            raise InputError("This result has expired: press the button again.")
        return again()

    def request_folder(self) -> Path:
        """A new folder under output_dir for one request's files (old ones are removed on the way)."""
        cutoff = time.time() - self.keep_seconds
        for old in self.output_dir.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.output_dir))
