"""The app's event functions: each builder returns a Gradio event function that answers with a dict
keyed by the `Page`'s components (a new output is one key, never a position).

What the buttons do is `fsrcnn.demo` (and `fsrcnn.batch` for many photos); these functions turn its
answers into component values and its errors into messages for the visitor, never a traceback.
"""
import sys
from pathlib import Path

import gradio as gr

from . import batch, output, view
from . import demo as logic
from .checks import COMPARE, UPSCALE
from .images import ImageError
from .jobs import BICUBIC, TITLES
from .page import CROPS, WARMING, Page
from .report import caption, report

FAILED = "Nothing to show: the last request failed (its message is at the top right)."


def _path(image):
    """With preprocess=False an event gets Gradio's file record (the upload, unopened), so that
    fsrcnn reads it and explains any problem (Gradio's own decoding says a bare "Error")."""
    return image.get("path") if isinstance(image, dict) else image


def _errors_for_visitors(fn):
    """Our messages are written for the visitor: show them as they are; never a traceback."""
    try:
        return fn()
    except (ImageError, ValueError) as e:
        raise gr.Error(str(e), print_exception=False) from e
    except MemoryError as e:
        raise gr.Error("Not enough memory for this image: try a smaller one or a smaller scale.") from e


def _number(value) -> int | None:
    """A form's or client's optional number: None, "", 0 and NaN mean not given."""
    if value in (None, "") or value != value:
        return None
    return int(value) or None


def output_options(fmt, quality, width, height) -> output.Options:
    return output.Options(fmt or "png", _number(quality), width=_number(width), height=_number(height))


def detail_values(page: Page, demo: logic.Demo, job, detail) -> dict:
    """Overview, one image per crop (None for a method not run), the slider's pair, as files.

    Written once (crops as fast PNGs), so that a request's two answers ship the same files and
    Gradio only copies them, instead of encoding every image again for each answer."""
    folder = demo.request_folder()
    files = {"overview": folder / "overview.jpg"}
    detail.overview.save(files["overview"], quality=90)
    for key, crop in detail.crops.items():
        files[key] = folder / f"{key}.png"
        crop.save(files[key], compress_level=1)
    paths = {key: str(path) for key, path in files.items()}
    return {page.overview: paths["overview"], **{page.crops[k]: paths.get(k) for k in CROPS},
            page.slider: (paths[BICUBIC], paths[job.best])}


def captions(job, outcome=None) -> dict:
    return {"crops": {k: caption(job, k, outcome) for k in job.methods},
            "slider": f"Bicubic (left) and {job.title(job.best)} (right), the same region",
            "download": f"Download {outcome.path.name}" if outcome else None}


def handler(page: Page, demo: logic.Demo, mode: str):
    """The event function of one mode, a generator: the detail view first, the full result last.

    It yields plain values (what API clients get: the last yield, see docs/app.md); captions
    travel in the state and are shown by `show_captions`, a UI-only step.
    """

    def steps(image, scale, self_ensemble, model, degradation, fmt, quality, width, height, progress):
        args = dict(mode=mode, source=_path(image), scale=scale, tta=bool(self_ensemble), model=model,
                    degradation=degradation)
        options = _errors_for_visitors(lambda: output_options(fmt, quality, width, height))
        warming = demo.upscaler.warming
        with demo.upscaler.serving():  # the warm-up compiles nothing while a request is served
            progress(0, desc="Reading the photo")
            job = _errors_for_visitors(lambda: demo.start(**args))
            if mode == UPSCALE:
                _errors_for_visitors(lambda: options.scale_for(job.lr_size, [job.scale], job.scale)
                                     if options.resizes else None)
            if warming:
                job.notes.append("the app was still compiling its networks when this request came, so it may "
                                 "have been slower than the next ones")
            detail = _errors_for_visitors(lambda: demo.detail(job))
            state = {"token": job.token, "args": args | {"centre": job.centre}, "zoom": 1, "captions": captions(job)}
            shown = detail_values(page, demo, job, detail)
            yield shown | {page.download: None, page.report: report(job, device=demo.upscaler.device_name),
                           page.job: state}
            outcome = _errors_for_visitors(lambda: demo.finish(job, progress, options))
            state = state | {"captions": captions(job, outcome)}
            final = report(job, outcome, demo.upscaler.device_name)
            yield shown | {page.download: str(outcome.path), page.report: final, page.job: state}

    if mode == UPSCALE:
        def upscale(image, scale, self_ensemble, model="auto", output_format="png", quality=None, width=None,
                    height=None, progress=gr.Progress()):
            yield from steps(image, scale, self_ensemble, model, "", output_format, quality, width, height, progress)
        run = upscale
    else:
        def compare(image, scale, self_ensemble, model="auto", degradation="", output_format="png", quality=None,
                    width=None, height=None, progress=gr.Progress()):
            yield from steps(image, scale, self_ensemble, model, degradation, output_format, quality, width, height,
                             progress)
        run = compare
    run.__doc__ = f"{'Enlarge a photo' if mode == UPSCALE else 'Shrink, rebuild and score a sharp photo'}: " \
                  "detail crops by every method and the full-resolution result (PNG, WebP or JPEG)."
    return run


def show_captions(page: Page):
    """UI only, after a run: title each crop (compare mode: with its score), enable the download."""

    def show(state):
        if not state:
            return {}
        text = state["captions"]
        return ({page.titles[k]: text["crops"][k] for k in CROPS if k in text["crops"]}
                | {page.slider: gr.ImageSlider(label=text["slider"])}
                | ({page.download: gr.DownloadButton(text["download"], interactive=True)} if text["download"] else {}))

    return show


def validator(demo: logic.Demo, mode: str):
    """Checks run before a request joins the queue (Gradio's `validator`, never queued).

    They only read the upload's header, so a request that is too large, not an image or has a
    bad setting is refused in milliseconds even while the queue is long. The page shows the
    message on the input concerned; API clients get `gradio_client.exceptions.ValidationError`.
    """

    def validate(image, scale, self_ensemble, model="auto", *rest):
        degradation, *rest = (rest or ("",)) if mode == COMPARE else ("", *rest)
        fmt, quality, width, height = (list(rest) + [None] * 4)[:4]
        ok = gr.validate(True, "")
        names = ["image", "scale", "ensemble", "model"] + (["degradation"] if mode == COMPARE else []) + [
            "format", "quality", "width", "height"]
        checks = {name: ok for name in names}

        def refuse(name, e):
            checks[name] = gr.validate(False, str(e))
            return list(checks.values())

        try:
            scale = demo.checks.scale(scale)
        except ValueError as e:
            return refuse("scale", e)
        try:
            demo.checks.model(model, scale)
        except ValueError as e:
            return refuse("model", e)
        if mode == COMPARE:
            try:
                demo.checks.degradation(degradation)
            except ValueError as e:
                return refuse("degradation", e)
        try:
            output_options(fmt, quality, width, height)
        except ValueError as e:
            return refuse("quality" if "quality" in str(e) else "format", e)
        try:
            demo.checks.image(mode, _path(image), scale)
        except (ImageError, ValueError) as e:
            return refuse("image", e)
        except Exception as e:  # a check must never break the event: let the handler report it
            print(f"warning: validator failed ({type(e).__name__}: {e})", file=sys.stderr)
        return list(checks.values())

    return validate


def mover(page: Page, demo: logic.Demo):
    """A click on the overview: the crops move there (only the crops are computed)."""

    def move(state, zoom, evt: gr.SelectData):
        if not state:
            return {}
        job = _errors_for_visitors(lambda: demo.job(state["token"], state["args"]))
        centre = view.to_photo(evt.index, job.overview.size, job.lr_size)
        return show(page, demo, job, state, centre, zoom)

    return move


def zoomer(page: Page, demo: logic.Demo):
    def zoom_to(state, zoom):
        if not state:
            return {}
        job = _errors_for_visitors(lambda: demo.job(state["token"], state["args"]))
        return show(page, demo, job, state, job.centre, zoom)

    return zoom_to


def show(page: Page, demo, job, state, centre, zoom) -> dict:
    detail = _errors_for_visitors(lambda: demo.detail(job, centre, int(zoom)))
    state = state | {"args": state["args"] | {"centre": job.centre}, "zoom": int(zoom)}
    return detail_values(page, demo, job, detail) | {page.job: state}


def cleared(page: Page, message: str) -> dict:
    """Every output of a run, emptied: the page shows only the current input's results."""
    return ({page.overview: None} | {page.crops[k]: gr.Image(None) for k in CROPS} | dict(zip(
        page.titles.values(), TITLES.values(), strict=True))
            | {page.slider: gr.ImageSlider(None, label="Bicubic (left) and FSRCNN (right), the same region"),
               page.download: gr.DownloadButton("Download the full result", value=None, interactive=False),
               page.report: message, page.job: None})


def resetter(page: Page, demo: logic.Demo):
    """On a new upload or a changed setting: clear the old results, check the new file's header at once."""

    def reset(image, mode, scale):
        path = _path(image)
        if not path:
            return cleared(page, f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.")
        name = Path(path).name  # Gradio keeps the visitor's file name for the upload
        try:
            scale = demo.checks.scale(scale)
            w, h = demo.checks.image(mode, path, scale)
        except (ImageError, ValueError) as e:
            return cleared(page, f"**{e}**")
        button = "Upscale" if mode == UPSCALE else "Compare"
        what = (f"→ {w * scale}×{h * scale} at x{scale}" if mode == UPSCALE
                else f"shrunk to {w // scale}×{h // scale} and rebuilt at x{scale}")
        return cleared(page, f"*{name}*: {w}×{h} pixels ({w * h / 1e6:.1f} megapixels) {what}. Press **{button}**.")

    return reset


def example_shower(page: Page, demo: logic.Demo, example: dict):
    """On page load: the example the app rendered at start (see `_warm_up` in app.py), so the first page shows
    what the app does; and whether the networks are still compiling."""

    def on_load(state):
        note = {page.warming: gr.Markdown(WARMING, visible=not demo.upscaler.warm)}
        if state or "values" not in example:
            return note
        values = {page.overview if k == "overview" else page.slider if k == "slider" else page.crops[k]: v
                  for k, v in example["values"].items()}
        return note | values | {page.titles[k]: f"Example: {t}" for k, t in example["titles"].items()}

    return on_load


def many(page: Page, demo: logic.Demo):
    """Many photos at once: one zip of results, one progress bar, a bad file reported and skipped."""

    def upscale_many(files, scale, self_ensemble, model="auto", output_format="png", quality=None, width=None,
                     height=None, progress=gr.Progress()):
        paths = [_path(f) for f in (files or [])]
        options = _errors_for_visitors(lambda: output_options(output_format, quality, width, height))
        with demo.upscaler.serving():
            done = _errors_for_visitors(lambda: batch.run(demo, paths, scale, bool(self_ensemble), model, options,
                                                          progress))
        text = batch.summary(done)
        if done.zip_path is None:
            return {page.many_download: gr.DownloadButton("Download the results (zip)", value=None,
                                                          interactive=False), page.many_report: text}
        return {page.many_download: gr.DownloadButton(f"Download {done.zip_path.name}", value=str(done.zip_path),
                                                      interactive=True), page.many_report: text}

    return upscale_many
