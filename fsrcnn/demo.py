"""What the app does, without any UI: the upscale and compare modes as plain functions.

`app.py` only wires Gradio components to a `Demo`. A request has two steps, so that a visitor
sees something within a second or two even for a 50-megapixel photo:

1. `Demo.start` reads the photo (and, in compare mode, shrinks it), picks the model and the
   most detailed region; `Demo.detail` computes that region with every method (view.py: the
   crops are the very pixels of the full results) and a small overview of the whole photo.
2. `Demo.finish` computes the full-resolution result in tiles and writes it once as a lossless
   PNG (compare mode: every method on the whole image, scored with PSNR/SSIM).

Moving the region (`Demo.detail` with a new centre) recomputes only the crops.
"""
import io
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import png, quality, view
from .degradations import encode_spec
from .images import array_in_mode, check_image, image_to_array, open_image
from .imresize import degrade, modcrop
from .metrics import SSIM_WINDOW, psnr_ssim_y
from .upscaler import Upscaler, bicubic_array

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
# Input pixels: what a 50-megapixel camera makes; memory and time grow with the output (docs/app.md).
DEFAULT_MAX_PIXELS = 50_000_000

UPSCALE, COMPARE = "upscale", "compare"
ORIGINAL, BICUBIC, FSRCNN, PHOTO, ENSEMBLE = "original", "bicubic", "fsrcnn", "photo", "ensemble"
METHODS = (ORIGINAL, BICUBIC, FSRCNN, PHOTO, ENSEMBLE)  # the order of the crops on the page
TITLES = {
    ORIGINAL: "Original",
    BICUBIC: "Bicubic",
    FSRCNN: "FSRCNN",
    PHOTO: "FSRCNN, photo model",
    ENSEMBLE: "FSRCNN + self-ensemble",
}
AUTO, CLEAN, PHOTO_MODEL, LIGHT_MODEL = quality.AUTO, quality.CLEAN, quality.PHOTO, quality.LIGHT
PHOTO_WEIGHTS = quality.PHOTO_WEIGHTS  # the photo crop shows whichever suits the photo
MODELS = quality.MODELS
# Compare mode: what to do to the shrunk photo before rebuilding it, as a camera or a website would.
DEGRADATIONS = {"": "none", "jpeg90": "JPEG quality 90", "jpeg75": "JPEG quality 75",
                "jpeg50": "JPEG quality 50", "noise5": "Gaussian noise, σ = 5"}
WARMED_UP = "Networks compiled for every scale and model"  # the app's console line after warm_up
KEEP_JOBS = 4  # photos kept decoded for moving the region; older ones are read again from their file
KEEP_BYTES = 600_000_000

# Called as progress(fraction, desc=...): a gr.Progress fits, and so does any plain function.
Progress = Callable[..., None]


class InputError(ValueError):
    """A request the demo cannot serve (no image, image too small); the message is for the visitor."""


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
            return f"FSRCNN {quality.NAMES[self.choice.model]} + self-ensemble"
        if key == PHOTO and self.photo_weights == LIGHT_MODEL:
            return "FSRCNN, light photo model"
        return TITLES[key]


@dataclass
class Detail:
    """The detail view of one job: the overview with the region marked, and one crop per method."""

    overview: Image.Image
    crops: dict[str, Image.Image]  # 1:1 or enlarged by `zoom`, by nearest neighbour
    crop: view.Crop
    zoom: int
    seconds: float


@dataclass
class Outcome:
    """The full-resolution result of a job: one PNG, and per method its time (and scores)."""

    path: Path
    size: tuple[int, int]
    seconds: dict[str, float]
    png_seconds: float
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # compare mode: (PSNR, SSIM)


class Demo:
    """The app's two modes over one loaded `Upscaler`.

    `output_dir` receives one sub-folder per request; folders older than `keep_seconds` are
    removed as new requests come in (Gradio has copied them into its own cache long before).
    Without `output_dir`, a temporary folder is used and removed when the process exits.
    """

    def __init__(self, upscaler: Upscaler, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 output_dir: str | Path | None = None, keep_seconds: float = 3600):
        self.upscaler = upscaler
        self.max_pixels = max_pixels
        self.keep_seconds = keep_seconds
        if output_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fsrcnn-app-")
            output_dir = self._tmp.name
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._jobs_lock = threading.Lock()

    @property
    def scales(self) -> tuple[int, ...]:
        return self.upscaler.scales

    @property
    def models(self) -> tuple[str, ...]:
        """The weight files loaded: ('clean',), ('clean', 'photo') or ('clean', 'photo', 'light')."""
        return self.upscaler.variants

    @property
    def has_photo_model(self) -> bool:
        """Whether photo weights (photo or light) are installed for any scale."""
        return any(m in self.models for m in PHOTO_WEIGHTS)

    def models_for(self, scale: int) -> tuple[str, ...]:
        """The weights loaded for one scale (the photo model may exist for some scales only)."""
        return tuple(m for m in self.models if (m, scale) in self.upscaler.weights)

    def warm_up(self) -> None:
        """Compile the networks for the shapes most requests use, so visitors do not wait for it."""
        self.upscaler.warm_up(tta=True)

    # --- step 1: the photo and the detail view ---------------------------------------------------

    def start(self, mode: str, source, scale, tta: bool = False, model: str = AUTO, degradation: str = "",
              centre: tuple[float, float] | None = None) -> Job:
        """Read the photo and prepare it for `mode`: the network's input, the model, the region."""
        if mode not in (UPSCALE, COMPARE):
            raise InputError(f"unknown mode {mode!r}: use {UPSCALE} or {COMPARE}")
        scale = self.check_scale(scale)
        model = self.check_model(model, scale)
        degradation = self.check_degradation(degradation)
        path, name = self._source(source)
        loaded = open_image(path, max_pixels=self.max_pixels, name=name)
        notes = list(loaded.notes)
        im = loaded.image
        hr = None
        if mode == UPSCALE:
            lr, image_mode, icc = image_to_array(im), im.mode, loaded.icc_profile
            picture = im
        else:
            hr = colour_array(im, notes)
            h, w = hr.shape[:2]
            _check_measurable(name, w, h, scale)
            hr = modcrop(hr, scale)
            if hr.shape[:2] != (h, w):
                notes.append(f"cropped from {w}×{h} to {hr.shape[1]}×{hr.shape[0]} so both sides divide by {scale}")
            lr, degraded_file = degrade(hr, scale), None
            if degradation:  # as the file a camera or website would make, so Auto can read it
                degraded_file = io.BytesIO(encode_spec(lr, degradation, seed=0)[0])
                lr = np.asarray(Image.open(degraded_file))
            image_mode, icc = ("L" if hr.ndim == 2 else "RGB"), loaded.icc_profile
            picture = Image.fromarray(hr)
        file = path if mode == UPSCALE else degraded_file
        photos = [m for m in PHOTO_WEIGHTS if m in self.models_for(scale)]
        found = quality.find_evidence(file, lr, self.models_for(scale)) if photos else None  # looked at once
        choice = self.choose(file, lr, model, scale, found)
        photo_weights = self.choose(file, lr, PHOTO_MODEL, scale, found).model if photos else None
        overview = _overview(picture)
        lr_size = (lr.shape[1], lr.shape[0])
        if centre is None:
            # The most detailed region, looked for on the overview's luma: cheap at any photo size.
            window = view.DETAIL / scale * overview.width / lr_size[0]
            point = view.most_detailed(np.asarray(overview.convert("L")), (round(window), round(window)))
            centre = (point[0] * lr_size[0] / overview.width, point[1] * lr_size[1] / overview.height)
        methods = [ORIGINAL, BICUBIC, FSRCNN] + ([PHOTO] if photos else []) + ([ENSEMBLE] if tta else [])
        job = Job(secrets.token_hex(8), mode, str(path), name, scale, bool(tta), model, degradation, choice,
                  photo_weights, lr, image_mode, icc, notes, overview, centre, hr, tuple(methods))
        self._remember(job)
        return job

    def detail(self, job: Job, centre: tuple[float, float] | None = None, zoom: int = 1) -> Detail:
        """The region around `centre` (LR pixels; default the job's) by every method, and the overview."""
        start = time.perf_counter()
        if centre is not None:
            job.centre = centre
        s = job.scale
        crop = view.crop_at(job.centre, job.lr_size, s, self.margin(s), zoom)
        context = job.lr[crop.context.slices()]
        pixels = {}
        for key in job.methods:
            if key == ORIGINAL:
                if job.hr is not None:
                    pixels[key] = job.hr[crop.out.slices()]
                else:
                    pixels[key] = view.enlarge(job.lr[crop.lr.slices()], s)[: crop.out.h, : crop.out.w]
            elif key == BICUBIC:
                pixels[key] = crop.cut(bicubic_array(context, s), s)
            else:
                pixels[key] = crop.cut(self.network(context, s, tta=key == ENSEMBLE, model=job.model_of(key)), s)
        crops = {k: _display(view.enlarge(p, zoom)) for k, p in pixels.items()}
        return Detail(self._marked_overview(job, crop), crops, crop, zoom, time.perf_counter() - start)

    def job(self, token: str | None, fallback: dict | None = None) -> Job:
        """A job started earlier; read again from its file (`fallback`: start's arguments) when it was evicted."""
        with self._jobs_lock:
            if token in self._jobs:
                self._jobs.move_to_end(token)
                return self._jobs[token]
        if not fallback:
            raise InputError("This result has expired: press the button again.")
        return self.start(**fallback)

    # --- step 2: the full-resolution result -------------------------------------------------------

    def finish(self, job: Job, progress: Progress | None = None) -> Outcome:
        """The whole image by the best method, as one PNG; in compare mode every method, scored."""
        s = job.scale
        keys = [job.best] if job.mode == UPSCALE else [k for k in job.methods if k != ORIGINAL]
        passes = {k: 2 if k == BICUBIC else self.upscaler.passes(job.lr.shape[:2], tta=k == ENSEMBLE) for k in keys}
        bar = _Bar(progress, sum(passes.values()) + (2 * len(keys) if job.hr is not None else 0) + 2)
        seconds, scores, best = {}, {}, None
        for key in keys:
            what = job.title(key)
            if key == BICUBIC:
                bar.stage(f"{what}: whole image", 2)
                out, seconds[key] = _timed(bicubic_array, job.lr, s)
            else:
                tick = bar.stage(f"{what}: whole image", passes[key])
                out, seconds[key] = _timed(self.network, job.lr, s, key == ENSEMBLE, tick, job.model_of(key))
            if job.hr is not None:
                bar.stage(f"{what}: PSNR and SSIM", 2)
                scores[key] = psnr_ssim_y(job.hr, out, border=s)
            if key == job.best:
                best = out
            del out  # one method's image at a time besides the best
        bar.stage("Writing the PNG", 2)
        folder = self.request_folder()
        path = folder / f"{safe_stem(job.name)}_x{s}_{job.best}.png"
        # Straight from the array (the command line's writer and level): a PIL copy of a 50-megapixel
        # result would add hundreds of megabytes to the request's peak.
        _, png_seconds = _timed(png.write_pixels, array_in_mode(best, job.mode_of_image), job.mode_of_image, path,
                                job.icc)
        self.upscaler.release_memory()  # between requests the server holds no engine buffers
        bar.stage("Done", 0)
        return Outcome(path, job.out_size, seconds, png_seconds, scores)

    # --- one call for scripts and tests ----------------------------------------------------------

    def run(self, mode: str, source, scale, tta: bool = False, model: str = AUTO, degradation: str = "",
            progress: Progress | None = None) -> tuple[Job, Detail, Outcome]:
        job = self.start(mode, source, scale, tta, model, degradation)
        return job, self.detail(job), self.finish(job, progress)

    # --- the network, the model choice and the checks ---------------------------------------------

    def network(self, img: np.ndarray, scale: int, tta: bool = False, progress=None, model: str = CLEAN) -> np.ndarray:
        """`Upscaler.upscale_array` with the given weights (clean, photo or light)."""
        return self.upscaler.upscale_array(img, scale, tta, progress, model=model)

    def margin(self, scale: int) -> int:
        """LR pixels of context a crop needs on each side to equal the whole-image result."""
        return max(self.upscaler.margin(scale, m) for m in self.models_for(scale))

    def choose(self, source, pixels: np.ndarray, requested: str, scale: int,
               evidence: quality.Evidence | None = None) -> Choice:
        """Which weights `requested` means for this image (fsrcnn.quality decides what auto means)."""
        self.check_model(requested, scale)
        installed = self.models_for(scale)
        if installed == (CLEAN,):
            why = "asked for" if requested == CLEAN else f"the only model installed for x{scale}"
            return Choice(CLEAN, f"clean model ({why})")
        picked = quality.choose(source, pixels, requested, installed, evidence)
        return Choice(picked.model, picked.reason)

    def check_scale(self, scale) -> int:
        """Scales arrive from forms and API clients: accept 2, 2.0, "2" and "x2", refuse the rest clearly."""
        try:
            value = float(str(scale).strip().lower().removeprefix("x"))
        except ValueError:
            value = None
        if value not in self.scales:
            raise InputError(f"scale must be one of {', '.join(f'x{s}' for s in self.scales)}, got {scale!r}")
        return int(value)

    def check_model(self, model, scale: int | None = None) -> str:
        """auto, clean or photo; photo only where its weights are installed (for `scale`, when given)."""
        value = str(model if model is not None else AUTO).strip().lower()
        if value not in MODELS:
            raise InputError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        installed = self.models if scale is None else self.models_for(scale)
        if value == PHOTO_MODEL and not any(m in installed for m in PHOTO_WEIGHTS):
            where = "" if scale is None else f" for x{scale}"
            raise InputError(f"the photo model is not installed{where} (weights/fsrcnn_photo_x*.keras): "
                             "choose Auto or Clean")
        return value

    @staticmethod
    def check_degradation(spec) -> str:
        value = str(spec or "").strip().lower()
        if value in ("none", "0"):
            value = ""
        if value not in DEGRADATIONS:
            raise InputError(f"degradation must be one of {', '.join(k or 'none' for k in DEGRADATIONS)}, got {spec!r}")
        return value

    def check_image(self, mode: str, source, scale: int) -> tuple[int, int]:
        """Refuse at once what the file's header tells: no image, not an image, over the pixel limit,
        too small to measure (compare mode); (width, height) when it passes.

        Nothing is decoded (milliseconds), so the app runs this on upload and before a request
        joins the queue. `start` makes the same checks again, plus those that need the pixels.
        """
        source, name = self._source(source)
        w, h = check_image(source, max_pixels=self.max_pixels, name=name)
        if mode == COMPARE:
            _check_measurable(name, w, h, scale)
        return w, h

    # --- helpers -------------------------------------------------------------------------------

    def _source(self, source) -> tuple:
        """(path or file object, the visitor's name for it): messages name the file, not its temp path."""
        if source is None or (isinstance(source, str) and not source.strip()):
            raise InputError("No image yet: upload a photo or pick one of the examples, then press the button.")
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{path.name}: no such file")
            return path, path.name
        return source, Path(getattr(source, "name", "image")).name

    def _remember(self, job: Job) -> None:
        with self._jobs_lock:
            self._jobs[job.token] = job
            while len(self._jobs) > 1 and (len(self._jobs) > KEEP_JOBS or sum(
                    j.lr.nbytes + (j.hr.nbytes if j.hr is not None else 0) for j in self._jobs.values()) > KEEP_BYTES):
                self._jobs.popitem(last=False)

    def _marked_overview(self, job: Job, crop: view.Crop) -> Image.Image:
        b = view.to_overview(crop.out, job.overview.size, job.out_size)
        marked = job.overview.copy()
        draw = ImageDraw.Draw(marked)
        for inset, colour in ((0, (255, 255, 255)), (1, (230, 40, 40)), (2, (255, 255, 255))):
            draw.rectangle([b.x - 2 + inset, b.y - 2 + inset, b.x + b.w + 1 - inset, b.y + b.h + 1 - inset],
                           outline=colour)
        return marked

    def request_folder(self) -> Path:
        """A new folder under output_dir for one request's files (old ones are removed on the way)."""
        cutoff = time.time() - self.keep_seconds
        for old in self.output_dir.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.output_dir))


# --- the report ------------------------------------------------------------------------------------

def report(job: Job, outcome: Outcome | None = None, device: str = "") -> str:
    """Markdown summary: sizes, device, model and why, and per method its time (and PSNR/SSIM)."""
    (iw, ih), (ow, oh) = job.lr_size, job.out_size
    on = f" on {device}" if device else ""
    if job.mode == COMPARE:
        shrunk = f"shrunk to {iw}×{ih} (MATLAB bicubic)"
        if job.degradation:
            shrunk += f", degraded ({DEGRADATIONS[job.degradation]})"
        lines = [f"**Compare at x{job.scale}**{on}: the {ow}×{oh} original of *{job.name}* was {shrunk} "
                 f"and rebuilt to {ow}×{oh}."]
    else:
        lines = [f"**Upscaled x{job.scale}**{on}: *{job.name}*, {iw}×{ih} → {ow}×{oh} pixels."]
    lines += ["", f"Model: {job.choice.reason}."]
    if outcome is None:
        lines += ["", f"Detail ready; the full {ow}×{oh} result is being computed…"]
    elif job.mode == COMPARE:
        lines += ["", f"PSNR and SSIM of the whole image on the luma (Y) channel, {job.scale}-pixel border ignored; "
                      "higher is better.", "", "| Method | PSNR (dB) | SSIM | Time |", "|---|---|---|---|"]
        base = outcome.scores.get(BICUBIC)
        for key, (psnr, ssim) in outcome.scores.items():
            gain = "" if key == BICUBIC or base is None else f" ({psnr - base[0]:+.2f})"
            lines.append(f"| {job.title(key)} | {psnr:.2f}{gain} | {ssim:.4f} | {_seconds(outcome.seconds[key])} |")
        lines += ["", f"Download: {job.title(job.best)}, {ow}×{oh} PNG ({_megabytes(outcome.path)})."]
    else:
        lines += ["", f"Full result: {job.title(job.best)} in {_seconds(outcome.seconds[job.best])}, "
                      f"PNG written in {_seconds(outcome.png_seconds)} ({_megabytes(outcome.path)})."]
    lines += [""] + [f"Note: {n}." for n in job.notes]
    return "\n".join(lines).strip()


def caption(job: Job, key: str, outcome: Outcome | None = None) -> str:
    """A crop's label: the method, and in compare mode its score once the whole image is measured."""
    title = job.title(key)
    if outcome is not None and key in outcome.scores:
        psnr, ssim = outcome.scores[key]
        return f"{title}: {psnr:.2f} dB, SSIM {ssim:.3f}"
    return title


# --- small helpers -----------------------------------------------------------------------------------

class _Bar:
    """One progress bar over a whole request: each network pass is a unit, each other stage one or two."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, max(total, 1), 0

    def stage(self, desc: str, units: int = 1) -> Callable[[int, int], None]:
        """Announce a stage; the returned callback (the Upscaler's progress) moves the bar within it."""
        base = self.done
        self.done += units
        self._show(base, desc)
        return lambda done, _total: self._show(base + done, desc)

    def _show(self, units: int, desc: str) -> None:
        if self.progress is not None:
            self.progress(min(units / self.total, 1.0), desc=desc)


def _overview(picture: Image.Image) -> Image.Image:
    """The whole photo, at most view.OVERVIEW_WIDTH on its longer side, in RGB."""
    size = view.overview_size(picture.size)
    small = picture if size == picture.size else picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return small.convert("RGB")


def _display(pixels: np.ndarray) -> Image.Image:
    """A crop as a PIL image for the page (gray, RGB or RGBA)."""
    return Image.fromarray(np.ascontiguousarray(pixels))


def _check_measurable(name: str, w: int, h: int, scale: int) -> None:
    """Compare mode needs, after cropping to multiples of the scale, room for SSIM's window and the border."""
    need = SSIM_WINDOW + 2 * scale
    if min(w - w % scale, h - h % scale) < need:
        raise InputError(f"{name}: {w}×{h} is too small to measure at x{scale}; "
                         f"compare mode needs at least {need}×{need} pixels")


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def _megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def colour_array(im: Image.Image, notes: list[str]) -> np.ndarray:
    """uint8 (H, W) gray or (H, W, 3) RGB for measuring; alpha is dropped, with a note saying so."""
    if im.mode in ("LA", "RGBA"):
        notes.append("transparency is ignored in compare mode (PSNR and SSIM are measured on colour)")
    return np.asarray(im.convert("L" if im.mode in ("L", "LA") else "RGB"))


def safe_stem(name: str) -> str:
    """A file-name stem safe in any OS and URL: the input's stem without odd characters."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem).strip("_")[:40]
    return stem or "image"


def example_paths(folder: str | Path = EXAMPLES_DIR) -> list[Path]:
    """The bundled example photos (see examples/ATTRIBUTION.md), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))

