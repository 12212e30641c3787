"""FSRCNN super-resolution in the browser: `python app.py`, then open http://127.0.0.1:7860.

Only the UI lives here (argument parsing, layout, event wiring, launch); what the buttons do is
`fsrcnn.demo` (and `fsrcnn.batch` for many photos), the detail view's geometry `fsrcnn.view`.
Event functions return dicts keyed by component (a `Page` holds them). The two buttons double as
API endpoints, /upscale and /compare (docs/app.md says what they take and return).
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

STARTED = time.perf_counter()  # the start-up time printed counts the imports, the slowest part

# Before Gradio and TensorFlow are imported: no telemetry, no request leaves the machine, no chatter.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
from fsrcnn import quiet  # noqa: E402

quiet.environment()

import gradio as gr  # noqa: E402

with quiet.stderr_silenced():  # TensorFlow, where a module still imports it, prints while it loads
    from fsrcnn import batch, output, view  # noqa: E402
    from fsrcnn import demo as logic  # noqa: E402
    from fsrcnn.checks import COMPARE, DEGRADATIONS, UPSCALE  # noqa: E402
    from fsrcnn.engines import ENGINE_HELP, ENGINES  # noqa: E402
    from fsrcnn.images import ImageError  # noqa: E402
    from fsrcnn.jobs import BICUBIC, ENSEMBLE, METHODS, PHOTO, TITLES  # noqa: E402
    from fsrcnn.models import AUTO, CLEAN  # noqa: E402
    from fsrcnn.models import PHOTO as PHOTO_VARIANT  # noqa: E402
    from fsrcnn.report import caption, report  # noqa: E402
    from fsrcnn.upscaler import SCALES, Upscaler  # noqa: E402
    from fsrcnn.weights import WeightsError  # noqa: E402

MAX_UPLOAD = "50mb"  # refused by the server itself (HTTP 413) before any of our code runs
QUEUE_SIZE = 32  # requests waiting beyond this are told "queue is full" at once (HTTP 503), not kept
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FAILED = "Nothing to show: the last request failed (its message is at the top right)."
WARMING = ("**Warming up.** The app is still compiling its networks for this computer: a first request may take "
           "a little longer (it is served at once, and compiles only what it needs).")
CROPS = METHODS  # original, bicubic, fsrcnn, photo, ensemble
DETAIL_HEIGHT = 300  # of the overview and the slider: both fit a 1000-pixel window, and a phone's stacked
# System fonts only: nothing is downloaded, and every weight of a label comes from one family.
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Liberation Sans",
         "Arial", "sans-serif"]
MONO = ["ui-monospace", "DejaVu Sans Mono", "Liberation Mono", "Menlo", "Consolas", "monospace"]
CSS = f"""
.crop img {{ width: {view.DETAIL}px !important; height: auto !important; max-width: none !important;
             object-fit: none !important; image-rendering: pixelated; }}
.crop-title {{ min-height: 3em; }}
.crop-title p {{ margin: 0 !important; font-weight: 600; }}
#slider img {{ image-rendering: pixelated; }}
#overview img {{ cursor: crosshair; }}
#report {{ max-height: 240px; overflow-y: auto; }}
"""
# A file that is not a picture would show in the upload box as a broken-image icon beside its
# message: hide such images (and show them again once a picture loads in their place).
HEAD = """<script>
for (const [event, visibility] of [["error", "hidden"], ["load", ""]]) {
  document.addEventListener(event, (e) => {
    if (e.target.tagName === "IMG" && e.target.closest("#photo")) e.target.style.visibility = visibility;
  }, true);
}
</script>"""
# Results in view: the detail view (overview, slider, download) is brought to the top of the window
# when a run starts and when its first answer arrives.
SCROLL = """() => { const d = document.getElementById("detail");
  if (d) requestAnimationFrame(() => d.scrollIntoView({block: "start", behavior: "instant"})); }"""
INTRO = """# FSRCNN super-resolution
Enlarge a photo 2, 3 or 4 times with a small neural network
([FSRCNN](https://arxiv.org/abs/1608.00367)) and see it next to plain bicubic enlargement.
**Upscale** enlarges your photo: the detail view shows one region of it, pixel for pixel, by
each method (click the whole photo to move it), and the full result comes as a download (PNG, WebP
or JPEG, at the scale or at a size you give). **Compare** shrinks a sharp photo first, rebuilds it,
and scores each method against the original (PSNR and SSIM). **Many photos** upscales several files
or a zip at once. Everything runs on this computer; nothing is sent anywhere."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes the app to your network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true",
                   help="also open a public gradio.live link (sends traffic through Gradio's servers)")
    p.add_argument("--weights-dir", help="folder with fsrcnn_x{2,3,4}.keras (default: the shipped weights/)")
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: GPU when TensorFlow sees one")
    p.add_argument("--engine", choices=tuple(ENGINES), help=ENGINE_HELP)
    p.add_argument("--max-pixels", type=int, default=logic.DEFAULT_MAX_PIXELS, help="largest input image, in pixels")
    p.add_argument("--concurrency", type=int, default=1, help="requests processed at once (the rest wait in the queue)")
    return p.parse_args(argv)


@dataclass
class Page:
    """The page's components, by name: event functions return {component: value}."""

    image: gr.Image
    mode: gr.Radio
    scale: gr.Radio
    model: gr.Radio
    ensemble: gr.Checkbox
    degradation: gr.Radio
    fmt: gr.Radio
    quality: gr.Number
    width: gr.Number
    height: gr.Number
    upscale_btn: gr.Button
    compare_btn: gr.Button
    report: gr.Markdown
    warming: gr.Markdown
    overview: gr.Image
    slider: gr.ImageSlider
    download: gr.DownloadButton
    zoom: gr.Radio
    crops: dict  # method -> gr.Image
    titles: dict  # method -> gr.Markdown, above its crop
    boxes: dict  # method -> gr.Column holding both
    job: gr.State
    files: gr.File
    many_btn: gr.Button
    many_download: gr.DownloadButton
    many_report: gr.Markdown

    @property
    def results(self) -> list:
        """A run's outputs, in the order API clients get them (docs/app.md)."""
        return [self.overview, *self.crops.values(), self.slider, self.download, self.report, self.job]

    @property
    def clearable(self) -> list:
        """What a reset or a failure empties: a run's outputs and the crops' titles."""
        return self.results + list(self.titles.values())

    @property
    def detail(self) -> list:
        return [self.overview, *self.crops.values(), self.slider, self.job]

    def inputs(self, mode: str) -> list:
        extra = [self.degradation] if mode == COMPARE else []
        return [self.image, self.scale, self.ensemble, self.model, *extra, self.fmt, self.quality, self.width,
                self.height]


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
    """On page load: the example the app rendered at start (see `_warm_up`), so the first page shows
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


def build_ui(demo: logic.Demo, example: dict | None = None) -> gr.Blocks:
    with gr.Blocks(title="FSRCNN super-resolution", analytics_enabled=False, delete_cache=(1800, 3600)) as ui:
        page = layout(demo)
        wire(ui, page, demo, example if example is not None else {})
    return ui


def layout(demo: logic.Demo) -> Page:
    """The page's components, in a Blocks being built: the controls, the detail view, the crops."""
    photo_scales = demo.bank.photo_scales()
    photo_info = (f"Photo (for {', '.join(f'x{s}' for s in photo_scales)}): trained on JPEG-compressed and noisy "
                  "photos (a lighter touch for JPEGs of high quality); Auto picks per image." if photo_scales
                  else f"The photo model is not installed (weights/{PHOTO_VARIANT.file('*')}): Auto uses Clean.")
    gr.Markdown(INTRO)
    warming = gr.Markdown(WARMING, visible=not demo.upscaler.warm, elem_id="warming")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Tabs():
                with gr.Tab("One photo", id="one"):
                    image = gr.Image(label="Your photo", type="filepath", image_mode=None,
                                     sources=["upload", "clipboard"], height=320, elem_id="photo",
                                     placeholder=f"Drop a photo here or click to upload (PNG, JPEG, WebP, ...; "
                                                 f"up to {demo.max_pixels / 1e6:g} megapixels and {MAX_UPLOAD})")
                    gr.Examples([[str(p)] for p in logic.example_paths()], inputs=[image], cache_examples=False,
                                label="Or pick an example (public-domain photos)", api_visibility="private")
                with gr.Tab("Many photos", id="many"):
                    files = gr.File(label="Photos, or a zip of them", file_count="multiple",
                                    file_types=["image", ".zip"], elem_id="files")
                    many_btn = gr.Button("Upscale them all", variant="primary", elem_id="upscale-many")
                    many_download = gr.DownloadButton("Download the results (zip)", interactive=False,
                                                      elem_id="many-download")
                    many_report = gr.Markdown(f"Up to {batch.MAX_FILES} photos, each within the limits of one.",
                                              elem_id="many-report")
        with gr.Column(scale=2):
            mode = gr.Radio([("Upscale my photo", UPSCALE), ("Compare with the original", COMPARE)],
                            value=UPSCALE, label="Mode", elem_id="mode",
                            info="Compare shrinks the photo by the scale first, so each method can be scored "
                                 "against it.")
            scale = gr.Radio([(f"x{s}", s) for s in demo.scales], value=demo.scales[0], label="Scale",
                             elem_id="scale")
            model = gr.Radio([("Auto", AUTO), ("Clean", CLEAN.name), ("Photo", PHOTO_VARIANT.name)],
                             value=AUTO, label="Model", elem_id="model", info=photo_info)
            ensemble = gr.Checkbox(value=False, elem_id="ensemble",
                                   label="Self-ensemble (8 flips and rotations averaged: better, 8x slower)")
            degradation = gr.Radio([(label, key) for key, label in DEGRADATIONS.items()], value="",
                                   label="Degrade the shrunk photo like a camera or website would",
                                   elem_id="degradation", visible=False)
            with gr.Accordion("Output: format and size", open=False, elem_id="output"):
                fmt = gr.Radio([("PNG (lossless)", "png"), ("WebP", "webp"), ("JPEG", "jpeg")], value="png",
                               label="Format", elem_id="format")
                quality = gr.Number(None, label="Quality (1-100)", minimum=1, maximum=100, precision=0,
                                    elem_id="quality", info="JPEG: default 90. WebP: empty for lossless.")
                with gr.Row():
                    width = gr.Number(None, label="Width", precision=0, minimum=1, elem_id="width")
                    height = gr.Number(None, label="Height", precision=0, minimum=1, elem_id="height")
            upscale_btn = gr.Button("Upscale", variant="primary", size="lg", elem_id="upscale")
            compare_btn = gr.Button("Compare", variant="primary", size="lg", elem_id="compare", visible=False)
            report_box = gr.Markdown(f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.",
                                     label="Report", elem_id="report")
    with gr.Row(equal_height=False, elem_id="detail"):
        with gr.Column(scale=1, min_width=300):
            overview = gr.Image(label="The whole photo: click to choose the detail", type="pil", format="jpeg",
                                interactive=False, elem_id="overview", buttons=["fullscreen"],
                                height=DETAIL_HEIGHT, placeholder="The whole photo, with the region marked")
        with gr.Column(scale=1, min_width=300):
            slider = gr.ImageSlider(label="Bicubic (left) and FSRCNN (right), the same region", type="pil",
                                    format="png", interactive=False, elem_id="slider", height=DETAIL_HEIGHT)
            download = gr.DownloadButton("Download the full result", interactive=False, elem_id="download")
    with gr.Row(equal_height=False):
        boxes, titles, crops = {}, {}, {}
        for k in CROPS:
            visible = (k != PHOTO or demo.has_photo_model) and k != ENSEMBLE
            with gr.Column(scale=0, min_width=view.DETAIL + 4, elem_id=f"crop-{k}", visible=visible) as box:
                titles[k] = gr.Markdown(TITLES[k], elem_classes="crop-title")
                crops[k] = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                    elem_classes="crop", buttons=[], height=view.DETAIL + 8,
                                    placeholder=TITLES[k])
            boxes[k] = box
    zoom = gr.Radio([("1:1", 1), ("2:1", 2)], value=1, label="Detail zoom (screen pixels per result pixel)",
                    elem_id="zoom")
    job = gr.State()
    return Page(image, mode, scale, model, ensemble, degradation, fmt, quality, width, height, upscale_btn,
                compare_btn, report_box, warming, overview, slider, download, zoom, crops, titles, boxes, job,
                files, many_btn, many_download, many_report)


def wire(ui: gr.Blocks, page: Page, demo: logic.Demo, example: dict) -> None:
    """Every event of the page (called inside build_ui's Blocks)."""
    for button, name in ((page.upscale_btn, UPSCALE), (page.compare_btn, COMPARE)):
        button.click(None, js=SCROLL)  # in the browser only: the detail view comes into view at once
        run = button.click(handler(page, demo, name), inputs=page.inputs(name), outputs=page.results, api_name=name,
                           show_progress_on=[page.download], preprocess=False, validator=validator(demo, name))
        run.success(show_captions(page), inputs=page.job, outputs=[*page.titles.values(), page.slider, page.download],
                    api_visibility="private", queue=False)
        run.failure(lambda: cleared(page, FAILED), outputs=page.clearable, api_visibility="private", queue=False)
    page.overview.change(None, js=SCROLL)  # and again when the first answer has laid it out
    # UI only: moving the region or the zoom recomputes the crops, nothing else.
    page.overview.select(mover(page, demo), inputs=[page.job, page.zoom], outputs=page.detail,
                         api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    page.zoom.change(zoomer(page, demo), inputs=[page.job, page.zoom], outputs=page.detail,
                     api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    # A new input or setting: the old results go, and a bad file is named as soon as it is dropped.
    reset = resetter(page, demo)
    for trigger in (page.image, page.mode, page.scale, page.model, page.ensemble, page.degradation):
        trigger.change(reset, inputs=[page.image, page.mode, page.scale], outputs=page.clearable,
                       api_visibility="private", preprocess=False, queue=False, show_progress="hidden")
    page.mode.change(lambda m: {page.upscale_btn: gr.Button(visible=m == UPSCALE),
                                page.compare_btn: gr.Button(visible=m == COMPARE),
                                page.degradation: gr.Radio(visible=m == COMPARE)},
                     inputs=page.mode, outputs=[page.upscale_btn, page.compare_btn, page.degradation],
                     api_visibility="private", queue=False)
    page.ensemble.change(lambda on: {page.boxes[ENSEMBLE]: gr.Column(visible=on)}, inputs=page.ensemble,
                         outputs=page.boxes[ENSEMBLE], api_visibility="private", queue=False)
    page.many_btn.click(many(page, demo), inputs=[page.files, page.scale, page.ensemble, page.model, page.fmt,
                                                  page.quality, page.width, page.height],
                        outputs=[page.many_download, page.many_report], show_progress_on=[page.many_download],
                        preprocess=False, api_name="upscale_many", api_visibility="private")
    ui.load(example_shower(page, demo, example), inputs=page.job,
            outputs=[page.warming, *page.detail[:-1], *page.titles.values()], api_visibility="private", queue=False)
    timer = gr.Timer(2.0, active=not demo.upscaler.warm)
    timer.tick(lambda: {page.warming: gr.Markdown(visible=not demo.upscaler.warm),
                        timer: gr.Timer(active=not demo.upscaler.warm)},
               outputs=[page.warming, timer], api_visibility="private", queue=False, show_progress="hidden")


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=FONTS, font_mono=MONO)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with quiet.stderr_silenced():  # the GPU probe may still wake TensorFlow
            upscaler = Upscaler(SCALES, weights_dir=args.weights_dir, device=args.device, engine=args.engine)
    except (WeightsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # Everything the app writes (uploads, Gradio's cache, the results) goes into one private
    # folder that is removed when the app stops. Gradio's own clean-up at shutdown cannot be relied
    # on: it is skipped when a browser keeps a connection open past the 5 s its server gets to stop.
    work = Path(tempfile.mkdtemp(prefix="fsrcnn-app-"))
    if "GRADIO_TEMP_DIR" not in os.environ:  # one set by the user is theirs to manage
        os.environ["GRADIO_TEMP_DIR"] = str(work / "gradio")
    # SIGTERM (a service manager, `kill`, a test) stops the app like Ctrl+C does, clean-up included;
    # Python's default would end the process on the spot and leave the folder behind.
    signal.signal(signal.SIGTERM, _interrupt)
    ui, warm_up = None, None
    try:
        # Each request's file is copied into Gradio's cache as soon as it returns: 10 minutes is ample.
        demo = logic.Demo(upscaler, max_pixels=args.max_pixels, output_dir=work / "results", keep_seconds=600)
        # The example of the first page lives in a folder of its own, kept for the app's lifetime.
        example = {"folder": work / "example"}
        models = ", ".join(demo.models[:-1]) + " and " * (len(demo.models) > 1) + demo.models[-1]
        print(f"FSRCNN {', '.join(f'x{s}' for s in demo.scales)} ({models}) loaded on {upscaler.device_name} "
              f"({time.perf_counter() - STARTED:.1f} s after start)", flush=True)
        # Compiling the network for the common tile shapes takes seconds: do it while the page loads.
        warm_up = threading.Thread(target=_warm_up, args=(demo, example), name="warm-up", daemon=True)
        warm_up.start()
        ui = build_ui(demo, example)
        # One request at a time by default: the network already uses every core, and memory stays
        # that of one request. The rest wait their turn in the queue.
        ui.queue(default_concurrency_limit=args.concurrency, max_size=QUEUE_SIZE)
        if args.host not in LOOPBACK:
            print(f"note: listening on {args.host}: the app is reachable from other computers", flush=True)
        # Gradio serves files only from its upload folder and cache (no allowed_paths are added), so
        # no other file on this machine can be fetched through /gradio_api/file=. quiet: Gradio's own
        # lines include a hint to set share=True, which --share already is; ours say what is true.
        _, local_url, share_url = ui.launch(
            server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD, ssr_mode=False,
            theme=theme(), css=CSS, head=HEAD, quiet=True, prevent_thread_lock=True)
        print(f"Running on {local_url}" + (f" and {share_url} (public)" if share_url else ""), flush=True)
        print("Press Ctrl+C to stop.", flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        # A second Ctrl+C or SIGTERM (a service manager's, or `timeout` passing its own on) must not
        # cut the clean-up short with a traceback: the app is stopping already.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if ui is not None:
            ui.close(verbose=False)
        shutil.rmtree(work, ignore_errors=True)
        if warm_up is not None and warm_up.is_alive():
            # Stopped while OpenVINO still compiles: leaving the interpreter under its threads makes
            # C++ abort ("terminate called ..."); everything is cleaned up, so leave at once instead.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    return 0


def _warm_up(demo: logic.Demo, example: dict) -> None:
    started = time.perf_counter()
    try:  # the first page's example: a nicety, never a reason for the app not to serve
        example.update(demo.render_example(example["folder"]))
    except Exception as e:
        print(f"warning: no example for the first page ({type(e).__name__}: {e})", file=sys.stderr, flush=True)
    demo.warm_up()
    # Requests served before this line may have compiled what they needed themselves.
    print(f"{logic.WARMED_UP} ({time.perf_counter() - started:.1f} s)", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
