"""What the app does, without any UI: the upscale and compare modes as plain functions.

`app.py` only wires Gradio components to `Demo.upscale` and `Demo.compare`; everything a test
or another front end needs (images, sizes, timings, PSNR/SSIM, the report text) is computed
here. Every panel is written once as a lossless PNG, and the app shows and serves those very
files, so what a visitor sees is byte for byte what they download.
"""
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from .images import Loaded, check_image, open_image, save_png
from .imresize import degrade, modcrop
from .metrics import SSIM_WINDOW, psnr_ssim_y
from .upscaler import Upscaler, bicubic_array, bicubic_image, upscale_image

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
# Input pixels; at x4 the four panels are then 16 megapixels each, about what a browser still shows smoothly.
DEFAULT_MAX_PIXELS = 1_000_000

UPSCALE, COMPARE = "upscale", "compare"
ORIGINAL, BICUBIC, FSRCNN, ENSEMBLE = "original", "bicubic", "fsrcnn", "ensemble"
TITLES = {
    ORIGINAL: "Original",
    BICUBIC: "Bicubic",
    FSRCNN: "FSRCNN",
    ENSEMBLE: "FSRCNN + self-ensemble",
}

# Called as progress(fraction, desc=...): a gr.Progress fits, and so does any plain function.
Progress = Callable[..., None]


class InputError(ValueError):
    """A request the demo cannot serve (no image, image too small); the message is for the visitor."""


@dataclass
class Panel:
    """One image of the result, written to `path` as PNG, with what it cost and (compare mode) how good it is."""

    key: str
    image: Image.Image
    path: Path
    seconds: float | None = None
    psnr: float | None = None
    ssim: float | None = None


@dataclass
class Result:
    mode: str
    name: str  # the input's file name, for the report
    scale: int
    device: str  # "CPU" or "GPU"
    input_size: tuple[int, int]  # (width, height) the network saw
    output_size: tuple[int, int]  # (width, height) of every panel
    panels: dict[str, Panel]  # ORIGINAL, BICUBIC, FSRCNN and, with the self-ensemble, ENSEMBLE
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> Panel:
        """The result worth downloading: the self-ensemble when it was run, plain FSRCNN otherwise."""
        return self.panels.get(ENSEMBLE, self.panels[FSRCNN])

    def label(self, key: str) -> str:
        """Caption for a panel: the method, and its score (compare mode) or its time (upscale mode)."""
        p = self.panels[key]
        if key == ORIGINAL:
            return "Original (ground truth)" if self.mode == COMPARE else "Original, enlarged by nearest neighbour"
        if p.psnr is not None:
            return f"{TITLES[key]}: {p.psnr:.2f} dB, SSIM {p.ssim:.3f}"
        return f"{TITLES[key]} ({_seconds(p.seconds)})"

    def report(self) -> str:
        """Markdown summary: sizes, device, and per method its time (and PSNR/SSIM in compare mode)."""
        (iw, ih), (ow, oh) = self.input_size, self.output_size
        methods = [self.panels[k] for k in (BICUBIC, FSRCNN, ENSEMBLE) if k in self.panels]
        if self.mode == COMPARE:
            lines = [
                f"**Compare at x{self.scale}** on {self.device}: the {ow}×{oh} original of *{self.name}* "
                f"was shrunk to {iw}×{ih} (MATLAB bicubic) and rebuilt to {ow}×{oh}.",
                "",
                f"PSNR and SSIM on the luma (Y) channel, {self.scale}-pixel border ignored; higher is better.",
                "",
                "| Method | PSNR (dB) | SSIM | Time |",
                "|---|---|---|---|",
            ]
            base = self.panels[BICUBIC]
            for p in methods:
                gain = "" if p is base else f" ({p.psnr - base.psnr:+.2f})"
                lines.append(f"| {TITLES[p.key]} | {p.psnr:.2f}{gain} | {p.ssim:.4f} | {_seconds(p.seconds)} |")
        else:
            lines = [
                f"**Upscaled x{self.scale}** on {self.device}: *{self.name}*, {iw}×{ih} → {ow}×{oh} pixels.",
                "",
                "| Method | Time |",
                "|---|---|",
            ]
            lines += [f"| {TITLES[p.key]} | {_seconds(p.seconds)} |" for p in methods]
        lines += [""] + [f"Note: {n}." for n in self.notes]
        return "\n".join(lines).strip()


class Demo:
    """The app's two modes over one loaded `Upscaler`.

    `output_dir` receives one sub-folder of PNGs per request; folders older than `keep_seconds`
    are removed as new requests come in (Gradio has copied them into its own cache long before).
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

    @property
    def scales(self) -> tuple[int, ...]:
        return self.upscaler.scales

    def warm_up(self) -> None:
        """Compile the networks for the shapes most requests use, so visitors do not wait for it."""
        self.upscaler.warm_up(tta=True)

    # --- the two modes -------------------------------------------------------------------------

    def upscale(self, source, scale: int, tta: bool = False, progress: Progress | None = None) -> Result:
        """Enlarge a photo: nearest-neighbour original, bicubic, FSRCNN and (tta) the self-ensemble."""
        scale = self.check_scale(scale)
        loaded, name = self._open(source)
        w, h = loaded.image.size
        passes = self.upscaler.passes((h, w), tta=False)
        bar = _Bar(progress, 2 + passes * (9 if tta else 1))

        bar.stage("Bicubic")
        images, seconds = {}, {}
        images[BICUBIC], seconds[BICUBIC] = _timed(bicubic_image, loaded, scale)
        images[FSRCNN], seconds[FSRCNN] = _timed(
            upscale_image, self.upscaler, loaded, scale, progress=bar.stage("FSRCNN", passes)
        )
        if tta:
            images[ENSEMBLE], seconds[ENSEMBLE] = _timed(
                upscale_image, self.upscaler, loaded, scale, tta=True,
                progress=bar.stage("FSRCNN + self-ensemble (8 passes per tile)", 8 * passes),
            )
        images[ORIGINAL] = nearest(loaded, scale)

        bar.stage("Saving PNGs")
        panels = self._write(name, scale, images, seconds)
        return Result(UPSCALE, name, scale, self.upscaler.device_name, (w, h), images[FSRCNN].size, panels,
                      list(loaded.notes))

    def compare(self, source, scale: int, tta: bool = False, progress: Progress | None = None) -> Result:
        """Measure on a sharp photo: shrink it by `scale`, rebuild it, score each rebuild against it.

        The standard protocol: modcrop, MATLAB-bicubic degradation, PSNR and SSIM on Y with a
        border of `scale` pixels. Alpha is not part of any benchmark, so it is dropped here.
        """
        scale = self.check_scale(scale)
        loaded, name = self._open(source)
        hr, notes = colour_array(loaded)
        h, w = hr.shape[:2]
        _check_measurable(name, w, h, scale)
        hr = modcrop(hr, scale)
        if hr.shape[:2] != (h, w):
            notes.append(f"cropped from {w}×{h} to {hr.shape[1]}×{hr.shape[0]} so both sides divide by {scale}")
        lr = degrade(hr, scale)
        passes = self.upscaler.passes(lr.shape[:2], tta=False)
        bar = _Bar(progress, 4 + passes * (9 if tta else 1))

        bar.stage(f"Shrinking x{scale} and rebuilding with bicubic")
        arrays, seconds = {ORIGINAL: hr}, {}
        arrays[BICUBIC], seconds[BICUBIC] = _timed(bicubic_array, lr, scale)
        arrays[FSRCNN], seconds[FSRCNN] = _timed(
            self.upscaler.upscale_array, lr, scale, progress=bar.stage("FSRCNN", passes)
        )
        if tta:
            arrays[ENSEMBLE], seconds[ENSEMBLE] = _timed(
                self.upscaler.upscale_array, lr, scale, tta=True,
                progress=bar.stage("FSRCNN + self-ensemble (8 passes per tile)", 8 * passes),
            )

        bar.stage("Measuring PSNR and SSIM", 2)
        scores = {k: psnr_ssim_y(hr, arrays[k], border=scale) for k in arrays if k != ORIGINAL}

        bar.stage("Saving PNGs")
        images = {k: _with_icc(Image.fromarray(a), loaded.icc_profile) for k, a in arrays.items()}
        panels = self._write(name, scale, images, seconds)
        for key, (psnr, ssim) in scores.items():
            panels[key].psnr, panels[key].ssim = psnr, ssim
        lh, lw = lr.shape[:2]
        return Result(COMPARE, name, scale, self.upscaler.device_name, (lw, lh), (hr.shape[1], hr.shape[0]),
                      panels, notes)

    def run(self, mode: str, source, scale: int, tta: bool = False, progress: Progress | None = None) -> Result:
        if mode not in (UPSCALE, COMPARE):
            raise InputError(f"unknown mode {mode!r}: use {UPSCALE} or {COMPARE}")
        return (self.upscale if mode == UPSCALE else self.compare)(source, scale, tta, progress)

    # --- helpers -------------------------------------------------------------------------------

    def check_scale(self, scale) -> int:
        """Scales arrive from forms and API clients: accept 2, 2.0, "2" and "x2", refuse the rest clearly."""
        try:
            value = float(str(scale).strip().lower().removeprefix("x"))
        except ValueError:
            value = None
        if value not in self.scales:
            raise InputError(f"scale must be one of {', '.join(f'x{s}' for s in self.scales)}, got {scale!r}")
        return int(value)

    def check_image(self, mode: str, source, scale: int) -> tuple[int, int]:
        """Refuse at once what the file's header tells: no image, not an image, over the pixel limit,
        too small to measure (compare mode); (width, height) when it passes.

        Nothing is decoded (milliseconds), so the app runs this and `check_scale` before a request
        joins the queue: a visitor with a hopeless request does not wait behind others.
        `upscale` and `compare` make the same checks again, plus those that need the pixels.
        """
        source, name = self._source(source)
        w, h = check_image(source, max_pixels=self.max_pixels, name=name)
        if mode == COMPARE:
            _check_measurable(name, w, h, scale)
        return w, h

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

    def _open(self, source) -> tuple[Loaded, str]:
        """Open a path (or file object) with the pixel limit."""
        source, name = self._source(source)
        return open_image(source, max_pixels=self.max_pixels, name=name), name

    def _write(self, name: str, scale: int, images: dict, seconds: dict) -> dict[str, Panel]:
        """Save every image as PNG in a fresh folder, named after the input (e.g. cat_x2_fsrcnn.png)."""
        folder = self._request_folder()
        stem = safe_stem(name)
        panels = {}
        for key, image in images.items():
            path = folder / f"{stem}_x{scale}_{key}.png" if key != ORIGINAL else folder / f"{stem}_original.png"
            save_png(image, path, compress_level=1)  # 3x faster than the default; still lossless
            panels[key] = Panel(key, image, path, seconds.get(key))
        return panels

    def _request_folder(self) -> Path:
        cutoff = time.time() - self.keep_seconds
        for old in self.output_dir.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.output_dir))


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


def _with_icc(image: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        image.info["icc_profile"] = icc
    return image


def nearest(loaded: Loaded, scale: int) -> Image.Image:
    """The input blown up by pixel repetition, so its real pixels stay visible next to the others."""
    im = loaded.image
    return _with_icc(im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST), loaded.icc_profile)


def colour_array(loaded: Loaded) -> tuple[np.ndarray, list[str]]:
    """uint8 (H, W) gray or (H, W, 3) RGB for measuring; alpha is dropped, with a note saying so."""
    im = loaded.image
    notes = list(loaded.notes)
    if im.mode in ("LA", "RGBA"):
        notes.append("transparency is ignored in compare mode (PSNR and SSIM are measured on colour)")
    return np.asarray(im.convert("L" if im.mode in ("L", "LA") else "RGB")), notes


def safe_stem(name: str) -> str:
    """A file-name stem safe in any OS and URL: the input's stem without odd characters."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem).strip("_")[:40]
    return stem or "image"


def example_paths(folder: str | Path = EXAMPLES_DIR) -> list[Path]:
    """The bundled example photos (see examples/ATTRIBUTION.md), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))

