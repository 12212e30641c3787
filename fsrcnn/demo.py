"""What the app does, without any UI: the upscale and compare modes as actions on a `Demo`.

`app.py` only wires Gradio components (`page.py`) to a `Demo`, through `events.py`. A request
has two steps, so that a visitor sees something within a second or two even for a 50-megapixel
photo:

1. `Demo.start` reads the photo (and, in compare mode, shrinks it), picks the model and the
   most detailed region; `Demo.detail` computes that region with every method (view.py: the
   crops are the very pixels of the full results) and a small overview of the whole photo.
2. `Demo.finish` computes the full-resolution result in tiles and writes it once, in the format
   and size asked for (output.py; compare mode: every method on the whole image, scored).

Moving the region (`Demo.detail` with a new centre) recomputes only the crops. The checks of a
request are checks.py, the jobs and their store jobs.py, the words about a result report.py.
"""
import io
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import output, quality, view
from .checks import COMPARE, UPSCALE, Checks, InputError, measurable
from .degradations import encode_spec
from .images import array_in_mode, image_to_array, open_image
from .imresize import degrade, modcrop
from .jobs import BICUBIC, ENSEMBLE, FSRCNN, ORIGINAL, PHOTO, Choice, Job, JobStore
from .metrics import psnr_ssim_y
from .quality import AUTO, CLEAN
from .upscaler import Upscaler, bicubic_array

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
# Input pixels: what a 50-megapixel camera makes; memory and time grow with the output (docs/app.md).
DEFAULT_MAX_PIXELS = 50_000_000
WARMED_UP = "Networks compiled for every scale and model"  # the app's console line after warm_up

# Called as progress(fraction, desc=...): a gr.Progress fits, and so does any plain function.
Progress = Callable[..., None]


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
    """The full-resolution result of a job: one file, and per method its time (and scores)."""

    path: Path
    size: tuple[int, int]  # of the file (the upscaled size, or the size asked for)
    seconds: dict[str, float]
    write_seconds: float
    format_name: str = "PNG"
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # compare mode: (PSNR, SSIM)

    @property
    def png_seconds(self) -> float:  # the name before other formats
        return self.write_seconds


class Demo:
    """The app's two modes over one loaded `Upscaler` (its bank says which weights may run).

    `output_dir` receives one sub-folder per request (jobs.JobStore removes old ones).
    """

    def __init__(self, upscaler: Upscaler, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 output_dir: str | Path | None = None, keep_seconds: float = 3600):
        self.upscaler = upscaler
        self.bank = upscaler.bank
        self.max_pixels = max_pixels
        self.checks = Checks(self.bank, max_pixels)
        self.store = JobStore(output_dir, keep_seconds)

    @property
    def scales(self) -> tuple[int, ...]:
        return self.bank.scales

    @property
    def models(self) -> tuple[str, ...]:
        """The weight files loaded: ('clean',), ('clean', 'photo') or ('clean', 'photo', 'light')."""
        return self.bank.installed()

    @property
    def has_photo_model(self) -> bool:
        """Whether photo weights (photo or light) are installed for any scale."""
        return bool(self.bank.photo())

    def models_for(self, scale: int) -> tuple[str, ...]:
        """The weights loaded for one scale (the photo model may exist for some scales only)."""
        return self.bank.installed(scale)

    def request_folder(self) -> Path:
        return self.store.request_folder()

    def warm_up(self) -> None:
        """Compile the networks for the shapes most requests use, so visitors do not wait for it."""
        self.upscaler.warm_up(tta=True, first=self.scales[:1])  # the scale the page offers first

    def render_example(self, folder: Path) -> dict:
        """The first page's example: the detail view of the first bundled photo at the first scale, as
        files in `folder` (cheap: crops only). {"values": {"overview" | method | "slider": file(s)},
        "titles": {method: title}}; {} without examples."""
        paths = example_paths()
        if not paths:
            return {}
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with self.upscaler.serving():
            job = self.start(UPSCALE, paths[0], self.scales[0])
            detail = self.detail(job)
        values = {"overview": str(folder / "overview.jpg")}
        detail.overview.save(values["overview"], quality=90)
        for key, crop in detail.crops.items():
            values[key] = str(folder / f"{key}.png")
            crop.save(values[key], compress_level=1)
        values["slider"] = (values[BICUBIC], values[job.best])
        return {"values": values, "titles": {k: f"{paths[0].name} x{job.scale}, {job.title(k)}" for k in detail.crops}}

    # --- step 1: the photo and the detail view ---------------------------------------------------

    def start(self, mode: str, source, scale, tta: bool = False, model: str = AUTO, degradation: str = "",
              centre: tuple[float, float] | None = None) -> Job:
        """Read the photo and prepare it for `mode`: the network's input, the model, the region."""
        mode = self.checks.mode(mode)
        scale = self.checks.scale(scale)
        model = self.checks.model(model, scale)
        degradation = self.checks.degradation(degradation)
        path, name = self.checks.source(source)
        loaded = open_image(path, max_pixels=self.max_pixels, name=name)
        notes = list(loaded.notes)
        im = loaded.image
        hr, evidence = None, ""
        if mode == UPSCALE:
            lr, image_mode, icc = image_to_array(im), im.mode, loaded.icc_profile
            picture = im
        else:
            hr = colour_array(im, notes)
            h, w = hr.shape[:2]
            measurable(name, w, h, scale)
            if self.bank.photo(scale):  # what the visitor's own file shows, not its shrunk copy
                evidence = quality.choose(path, hr, AUTO, self.models_for(scale)).reason
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
        photos = self.bank.photo(scale)
        found = quality.find_evidence(file, lr, self.models_for(scale)) if photos else None  # looked at once
        choice = self.choose(file, lr, model, scale, found)
        photo_weights = self.choose(file, lr, quality.PHOTO, scale, found).model if photos else None
        overview = _overview(picture)
        lr_size = (lr.shape[1], lr.shape[0])
        if centre is None:
            # The most detailed region, looked for on the overview's luma: cheap at any photo size.
            window = view.DETAIL / scale * overview.width / lr_size[0]
            point = view.most_detailed(np.asarray(overview.convert("L")), (round(window), round(window)))
            centre = (point[0] * lr_size[0] / overview.width, point[1] * lr_size[1] / overview.height)
        methods = [ORIGINAL, BICUBIC, FSRCNN] + ([PHOTO] if photos else []) + ([ENSEMBLE] if tta else [])
        job = Job(secrets.token_hex(8), mode, str(path), name, scale, bool(tta), model, degradation, choice,
                  photo_weights, lr, image_mode, icc, notes, overview, centre, hr, tuple(methods), evidence)
        self.store.remember(job)
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
        marked = view.mark(job.overview, view.to_overview(crop.out, job.overview.size, job.out_size))
        return Detail(marked, crops, crop, zoom, time.perf_counter() - start)

    def job(self, token: str | None, fallback: dict | None = None) -> Job:
        """A job started earlier; read again from its file (`fallback`: start's arguments) when it was evicted."""
        return self.store.get(token, (lambda: self.start(**fallback)) if fallback else None)

    # --- step 2: the full-resolution result -------------------------------------------------------

    def finish(self, job: Job, progress: Progress | None = None, options: output.Options = output.PNG) -> Outcome:
        """The whole image by the best method, as one file; in compare mode every method, scored."""
        s = job.scale
        size = options.size_for(job.out_size)
        options.check_mode(job.mode_of_image, size)  # before the work, not after
        keys = [job.best] if job.mode == UPSCALE else [k for k in job.methods if k != ORIGINAL]
        passes = {k: 2 if k == BICUBIC else self.upscaler.passes(job.lr.shape[:2], tta=k == ENSEMBLE) for k in keys}
        bar = Bar(progress, sum(passes.values()) + (2 * len(keys) if job.hr is not None else 0) + 2)
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
        bar.stage(f"Writing the {options.name}", 2)
        path = self.store.request_folder() / f"{safe_stem(job.name)}_x{s}_{job.best}{options.suffix}"
        # A PNG straight from the array (the command line's writer and level): a PIL copy of a
        # 50-megapixel result would add hundreds of megabytes to the request's peak.
        size, write_seconds = _timed(output.write, array_in_mode(best, job.mode_of_image), path, options,
                                     job.mode_of_image, job.icc)
        self.upscaler.release_memory()  # between requests the server holds no engine buffers
        bar.stage("Done", 0)
        return Outcome(path, size, seconds, write_seconds, options.name, scores)

    # --- one call for scripts and tests ----------------------------------------------------------

    def run(self, mode: str, source, scale, tta: bool = False, model: str = AUTO, degradation: str = "",
            progress: Progress | None = None, options: output.Options = output.PNG) -> tuple[Job, Detail, Outcome]:
        job = self.start(mode, source, scale, tta, model, degradation)
        return job, self.detail(job), self.finish(job, progress, options)

    # --- the network and the model choice ---------------------------------------------------------

    def network(self, img: np.ndarray, scale: int, tta: bool = False, progress=None, model: str = CLEAN) -> np.ndarray:
        """`Upscaler.upscale_array` with the given weights (clean, photo or light)."""
        return self.upscaler.upscale_array(img, scale, tta, progress, model=model)

    def margin(self, scale: int) -> int:
        """LR pixels of context a crop needs on each side to equal the whole-image result."""
        return max(self.upscaler.margin(scale, m) for m in self.models_for(scale))

    def choose(self, source, pixels: np.ndarray, requested: str, scale: int,
               evidence: quality.Evidence | None = None) -> Choice:
        """Which weights `requested` means for this image (fsrcnn.quality decides what auto means)."""
        self.checks.model(requested, scale)
        installed = self.models_for(scale)
        if installed == (CLEAN,):
            why = "asked for" if requested == CLEAN else f"the only model installed for x{scale}"
            return Choice(CLEAN, f"clean model ({why})")
        picked = quality.choose(source, pixels, requested, installed, evidence)
        return Choice(picked.model, picked.reason)


# --- small helpers -----------------------------------------------------------------------------------

class Bar:
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


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


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


__all__ = ["COMPARE", "UPSCALE", "Demo", "Detail", "InputError", "Outcome", "example_paths"]
