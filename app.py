"""FSRCNN super-resolution in the browser: `python app.py`, then open http://127.0.0.1:7860.

Only the UI lives here (argument parsing, layout, event wiring, launch); what the buttons do is
`fsrcnn.demo`, the detail view's geometry `fsrcnn.view`. The two buttons double as API
endpoints, /upscale and /compare (docs/app.md says what they take and return).
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

STARTED = time.perf_counter()  # the start-up time printed counts the imports, the slowest part

# Before Gradio and TensorFlow are imported: no telemetry, no request leaves the machine, no chatter.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
from fsrcnn import quiet  # noqa: E402

quiet.environment()

import gradio as gr  # noqa: E402

with quiet.stderr_silenced():  # TensorFlow, where a module still imports it, prints while it loads
    from fsrcnn import demo as logic  # noqa: E402
    from fsrcnn import view  # noqa: E402
    from fsrcnn.engines import ENGINE_HELP, ENGINES  # noqa: E402
    from fsrcnn.images import ImageError  # noqa: E402
    from fsrcnn.upscaler import SCALES, Upscaler  # noqa: E402
    from fsrcnn.weights import WeightsError  # noqa: E402

MAX_UPLOAD = "50mb"  # refused by the server itself (HTTP 413) before any of our code runs
QUEUE_SIZE = 32  # requests waiting beyond this are told "queue is full" at once (HTTP 503), not kept
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FAILED = "Nothing to show: the last request failed (its message is at the top right)."
CROPS = logic.METHODS  # original, bicubic, fsrcnn, photo, ensemble
# System fonts only: nothing is downloaded, and every weight of a label comes from one family.
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Liberation Sans",
         "Arial", "sans-serif"]
MONO = ["ui-monospace", "DejaVu Sans Mono", "Liberation Mono", "Menlo", "Consolas", "monospace"]
CSS = f"""
.crop img {{ width: {view.DETAIL}px !important; height: auto !important; max-width: none !important;
             object-fit: none !important; image-rendering: pixelated; }}
#slider img {{ image-rendering: pixelated; }}
#overview img {{ cursor: crosshair; }}
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
INTRO = """# FSRCNN super-resolution
Enlarge a photo 2, 3 or 4 times with a small neural network
([FSRCNN](https://arxiv.org/abs/1608.00367)) and see it next to plain bicubic enlargement.
**Upscale** enlarges your photo: the detail view shows one region of it, pixel for pixel, by
each method (click the whole photo to move it), and the full result comes as a PNG download.
**Compare** shrinks a sharp photo first, rebuilds it, and scores each method against the original
(PSNR and SSIM). Everything runs on this computer; nothing is sent anywhere."""


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


def detail_values(demo: logic.Demo, job: logic.Job, detail: logic.Detail) -> list:
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
    return [paths["overview"], *[paths.get(k) for k in CROPS], (paths[logic.BICUBIC], paths[job.best])]


def captions(job: logic.Job, outcome=None) -> dict:
    return {"crops": {k: logic.caption(job, k, outcome) for k in job.methods},
            "slider": f"Bicubic (left) and {job.title(job.best)} (right), the same region",
            "download": f"Download {outcome.path.name}" if outcome else None}


def handler(demo: logic.Demo, mode: str):
    """The event function of one mode, a generator: the detail view first, the full result last.

    It yields plain values (what API clients get: the last yield, see docs/app.md); captions
    travel in the state and are shown by `show_captions`, a UI-only step.
    """

    def steps(image, scale, self_ensemble, model, degradation, progress):
        args = dict(mode=mode, source=_path(image), scale=scale, tta=bool(self_ensemble), model=model,
                    degradation=degradation)
        progress(0, desc="Reading the photo")
        job = _errors_for_visitors(lambda: demo.start(**args))
        detail = _errors_for_visitors(lambda: demo.detail(job))
        state = {"token": job.token, "args": args | {"centre": job.centre}, "zoom": 1, "captions": captions(job)}
        shown = detail_values(demo, job, detail)
        yield *shown, None, logic.report(job, device=demo.upscaler.device_name), state
        outcome = _errors_for_visitors(lambda: demo.finish(job, progress))
        state = state | {"captions": captions(job, outcome)}
        yield *shown, str(outcome.path), logic.report(job, outcome, demo.upscaler.device_name), state

    if mode == logic.UPSCALE:
        def upscale(image, scale, self_ensemble, model="auto", progress=gr.Progress()):
            yield from steps(image, scale, self_ensemble, model, "", progress)
        run = upscale
    else:
        def compare(image, scale, self_ensemble, model="auto", degradation="", progress=gr.Progress()):
            yield from steps(image, scale, self_ensemble, model, degradation, progress)
        run = compare
    run.__doc__ = f"{'Enlarge a photo' if mode == logic.UPSCALE else 'Shrink, rebuild and score a sharp photo'}: " \
                  "detail crops by every method and the full-resolution PNG."
    return run


def show_captions(state):
    """UI only, after a run: label each crop (compare mode: with its score), enable the download."""
    if not state:
        return [gr.skip()] * (len(CROPS) + 2)
    text = state["captions"]
    return (*[gr.Image(label=text["crops"][k]) if k in text["crops"] else gr.skip() for k in CROPS],
            gr.ImageSlider(label=text["slider"]),
            gr.DownloadButton(text["download"], interactive=True) if text["download"] else gr.skip())


def validator(demo: logic.Demo, mode: str):
    """Checks run before a request joins the queue (Gradio's `validator`, never queued).

    They only read the upload's header, so a request that is too large, not an image or has a
    bad setting is refused in milliseconds even while the queue is long. The page shows the
    message on the input concerned; API clients get `gradio_client.exceptions.ValidationError`.
    """

    def validate(image, scale, self_ensemble, model="auto", degradation=""):
        ok = gr.validate(True, "")
        checks = [ok, ok, ok, ok] + ([ok] if mode == logic.COMPARE else [])
        try:
            scale = demo.check_scale(scale)
        except ValueError as e:
            checks[1] = gr.validate(False, str(e))
            return checks
        try:
            demo.check_model(model, scale)
        except ValueError as e:
            checks[3] = gr.validate(False, str(e))
            return checks
        if mode == logic.COMPARE:
            try:
                demo.check_degradation(degradation)
            except ValueError as e:
                checks[4] = gr.validate(False, str(e))
                return checks
        try:
            demo.check_image(mode, _path(image), scale)
        except (ImageError, ValueError) as e:
            checks[0] = gr.validate(False, str(e))
        except Exception as e:  # a check must never break the event: let the handler report it
            print(f"warning: validator failed ({type(e).__name__}: {e})", file=sys.stderr)
        return checks

    return validate


def mover(demo: logic.Demo):
    """A click on the overview: the crops move there (only the crops are computed)."""

    def move(state, zoom, evt: gr.SelectData):
        if not state:
            return [gr.skip()] * (2 + len(CROPS) + 1)
        job = _errors_for_visitors(lambda: demo.job(state["token"], state["args"]))
        centre = view.to_photo(evt.index, job.overview.size, job.lr_size)
        return show(demo, job, state, centre, zoom)

    return move


def zoomer(demo: logic.Demo):
    def zoom_to(state, zoom):
        if not state:
            return [gr.skip()] * (2 + len(CROPS) + 1)
        job = _errors_for_visitors(lambda: demo.job(state["token"], state["args"]))
        return show(demo, job, state, job.centre, zoom)

    return zoom_to


def show(demo, job, state, centre, zoom):
    detail = _errors_for_visitors(lambda: demo.detail(job, centre, int(zoom)))
    state = state | {"args": state["args"] | {"centre": job.centre}, "zoom": int(zoom)}
    return [*detail_values(demo, job, detail), state]


def cleared(demo: logic.Demo, message: str) -> list:
    """Every output of a run, emptied: the page shows only the current input's results."""
    crops = [gr.Image(None, label=logic.TITLES[k]) for k in CROPS]
    return [None, *crops, gr.ImageSlider(None, label="Bicubic (left) and FSRCNN (right), the same region"),
            gr.DownloadButton("Download the full result (PNG)", value=None, interactive=False), message, None]


def resetter(demo: logic.Demo):
    """On a new upload or a changed setting: clear the old results, check the new file's header at once."""

    def reset(image, mode, scale):
        path = _path(image)
        if not path:
            return cleared(demo, f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.")
        name = Path(path).name  # Gradio keeps the visitor's file name for the upload
        try:
            scale = demo.check_scale(scale)
            w, h = demo.check_image(mode, path, scale)
        except (ImageError, ValueError) as e:
            return cleared(demo, f"**{e}**")
        button = "Upscale" if mode == logic.UPSCALE else "Compare"
        what = (f"→ {w * scale}×{h * scale} at x{scale}" if mode == logic.UPSCALE
                else f"shrunk to {w // scale}×{h // scale} and rebuilt at x{scale}")
        return cleared(demo, f"*{name}*: {w}×{h} pixels ({w * h / 1e6:.1f} megapixels) {what}. Press **{button}**.")

    return reset


def build_ui(demo: logic.Demo) -> gr.Blocks:
    photo_scales = [s for s in demo.scales if any(m in demo.models_for(s) for m in logic.PHOTO_WEIGHTS)]
    photo_info = (f"Photo (for {', '.join(f'x{s}' for s in photo_scales)}): trained on JPEG-compressed and noisy "
                  "photos (a lighter touch for JPEGs of high quality); Auto picks per image." if photo_scales
                  else "The photo model is not installed (weights/fsrcnn_photo_x*.keras): Auto uses Clean.")
    with gr.Blocks(title="FSRCNN super-resolution", analytics_enabled=False, delete_cache=(1800, 3600)) as ui:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                image = gr.Image(label="Your photo", type="filepath", image_mode=None,
                                 sources=["upload", "clipboard"], height=320, elem_id="photo",
                                 placeholder=f"Drop a photo here or click to upload (PNG, JPEG, WebP, ...; "
                                             f"up to {demo.max_pixels / 1e6:g} megapixels and {MAX_UPLOAD})")
                gr.Examples([[str(p)] for p in logic.example_paths()], inputs=[image], cache_examples=False,
                            label="Or pick an example (public-domain photos)", api_visibility="private")
            with gr.Column(scale=2):
                mode = gr.Radio([("Upscale my photo", logic.UPSCALE), ("Compare with the original", logic.COMPARE)],
                                value=logic.UPSCALE, label="Mode", elem_id="mode",
                                info="Compare shrinks the photo by the scale first, so each method can be scored "
                                     "against it.")
                scale = gr.Radio([(f"x{s}", s) for s in demo.scales], value=demo.scales[0], label="Scale",
                                 elem_id="scale")
                model = gr.Radio([("Auto", logic.AUTO), ("Clean", logic.CLEAN), ("Photo", logic.PHOTO_MODEL)],
                                 value=logic.AUTO, label="Model", elem_id="model", info=photo_info)
                ensemble = gr.Checkbox(value=False, elem_id="ensemble",
                                       label="Self-ensemble (8 flips and rotations averaged: better, 8x slower)")
                degradation = gr.Radio([(label, key) for key, label in logic.DEGRADATIONS.items()], value="",
                                       label="Degrade the shrunk photo like a camera or website would",
                                       elem_id="degradation", visible=False)
                upscale_btn = gr.Button("Upscale", variant="primary", size="lg", elem_id="upscale")
                compare_btn = gr.Button("Compare", variant="primary", size="lg", elem_id="compare", visible=False)
                download = gr.DownloadButton("Download the full result (PNG)", interactive=False, elem_id="download")
                report = gr.Markdown(f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.",
                                     label="Report", elem_id="report")
        with gr.Row(equal_height=False, elem_id="detail"):
            with gr.Column(scale=2, min_width=320):
                overview = gr.Image(label="The whole photo: click to choose the detail", type="pil", format="jpeg",
                                    interactive=False, elem_id="overview", buttons=["fullscreen"])
                zoom = gr.Radio([("1:1", 1), ("2:1", 2)], value=1, label="Detail zoom (screen pixels per result pixel)",
                                elem_id="zoom")
            with gr.Column(scale=5):
                with gr.Row(equal_height=False):
                    crops = [gr.Image(label=logic.TITLES[k], type="pil", format="png", interactive=False,
                                      elem_id=f"crop-{k}", elem_classes="crop", buttons=[], scale=0,
                                      min_width=view.DETAIL + 4, height=view.DETAIL + 8,
                                      visible=(k != logic.PHOTO or demo.has_photo_model) and k != logic.ENSEMBLE)
                             for k in CROPS]
        slider = gr.ImageSlider(label="Bicubic (left) and FSRCNN (right), the same region", type="pil", format="png",
                                interactive=False, elem_id="slider", max_height=2 * view.DETAIL)
        job = gr.State()

        results = [overview, *crops, slider, download, report, job]
        for button, name, inputs in ((upscale_btn, logic.UPSCALE, [image, scale, ensemble, model]),
                                     (compare_btn, logic.COMPARE, [image, scale, ensemble, model, degradation])):
            run = button.click(handler(demo, name), inputs=inputs, outputs=results, api_name=name,
                               show_progress_on=[download], preprocess=False, validator=validator(demo, name))
            run.success(show_captions, inputs=job, outputs=[*crops, slider, download], api_visibility="private",
                        queue=False)
            run.failure(lambda: cleared(demo, FAILED), outputs=results, api_visibility="private", queue=False)
        # UI only: moving the region or the zoom recomputes the crops, nothing else.
        detail_outputs_ = [overview, *crops, slider, job]
        overview.select(mover(demo), inputs=[job, zoom], outputs=detail_outputs_, api_visibility="private",
                        show_progress="hidden", trigger_mode="always_last")
        zoom.change(zoomer(demo), inputs=[job, zoom], outputs=detail_outputs_, api_visibility="private",
                    show_progress="hidden", trigger_mode="always_last")
        # A new input or setting: the old results go, and a bad file is named as soon as it is dropped.
        reset = resetter(demo)
        for trigger in (image, mode, scale, model, ensemble, degradation):
            trigger.change(reset, inputs=[image, mode, scale], outputs=results, api_visibility="private",
                           preprocess=False, queue=False, show_progress="hidden")
        mode.change(lambda m: (gr.Button(visible=m == logic.UPSCALE), gr.Button(visible=m == logic.COMPARE),
                               gr.Radio(visible=m == logic.COMPARE)),
                    inputs=mode, outputs=[upscale_btn, compare_btn, degradation], api_visibility="private", queue=False)
        ensemble.change(lambda on: gr.Image(visible=on), inputs=ensemble, outputs=crops[-1],
                        api_visibility="private", queue=False)
    return ui


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
    # Everything the app writes (uploads, Gradio's cache, the result PNGs) goes into one private
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
        # Each request's PNG is copied into Gradio's cache as soon as it returns: 10 minutes is ample.
        demo = logic.Demo(upscaler, max_pixels=args.max_pixels, output_dir=work / "results", keep_seconds=600)
        models = ", ".join(demo.models[:-1]) + " and " * (len(demo.models) > 1) + demo.models[-1]
        print(f"FSRCNN {', '.join(f'x{s}' for s in demo.scales)} ({models}) loaded on {upscaler.device_name} "
              f"({time.perf_counter() - STARTED:.1f} s after start)", flush=True)
        # Compiling the network for the common tile shapes takes seconds: do it while the page loads.
        warm_up = threading.Thread(target=_warm_up, args=(demo,), name="warm-up", daemon=True)
        warm_up.start()
        ui = build_ui(demo)
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


def _warm_up(demo: logic.Demo) -> None:
    started = time.perf_counter()
    demo.warm_up()
    # Requests served before this line shared the cores with the compiler (benchmarks wait for it).
    print(f"{logic.WARMED_UP} ({time.perf_counter() - started:.1f} s)", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
