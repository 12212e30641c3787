"""FSRCNN super-resolution in the browser: `python app.py`, then open http://127.0.0.1:7860.

Only the UI lives here (argument parsing, layout, event wiring, launch); what the buttons do is
`fsrcnn.demo`. The two buttons double as API endpoints, /upscale and /compare (see README.md).
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

# Before Gradio is imported: no telemetry, no request leaves the machine; quiet TensorFlow.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gradio as gr  # noqa: E402

from fsrcnn import demo as logic  # noqa: E402
from fsrcnn.engines import ENGINE_HELP, ENGINES  # noqa: E402
from fsrcnn.images import ImageError  # noqa: E402
from fsrcnn.upscaler import SCALES, Upscaler, WeightsError  # noqa: E402

MAX_UPLOAD = "20mb"  # refused by the server itself (HTTP 413) before any of our code runs
QUEUE_SIZE = 32  # requests waiting beyond this are told "queue is full" at once (HTTP 503), not kept
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PANELS = (logic.ORIGINAL, logic.BICUBIC, logic.FSRCNN, logic.ENSEMBLE)
INTRO = """# FSRCNN super-resolution
Enlarge a photo 2, 3 or 4 times with a small neural network
([FSRCNN](https://arxiv.org/abs/1608.00367)) and see it next to plain bicubic enlargement.
**Upscale** enlarges your photo. **Compare** shrinks a sharp photo first, rebuilds it,
and scores each method against the original (PSNR and SSIM).
Everything runs on this computer; nothing is sent anywhere."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes the app to your network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (sends traffic through Gradio's servers)")
    p.add_argument("--weights-dir", help="folder with fsrcnn_x{2,3,4}.keras (default: the shipped weights/)")
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: GPU when TensorFlow sees one")
    p.add_argument("--engine", choices=tuple(ENGINES), help=ENGINE_HELP)
    p.add_argument("--max-pixels", type=int, default=logic.DEFAULT_MAX_PIXELS, help="largest input image, in pixels")
    p.add_argument("--concurrency", type=int, default=1, help="requests processed at once (the rest wait in the queue)")
    return p.parse_args(argv)


def handler(demo: logic.Demo, mode: str):
    """The event function of one mode: plain values for the outputs (what API clients get), plus captions."""

    def run(image, scale, self_ensemble, progress=gr.Progress()):
        # The event runs with preprocess=False: `image` is Gradio's file record, the upload unopened,
        # so fsrcnn.demo reads it and explains any problem (Gradio's own decoding says a bare "Error").
        path = image.get("path") if isinstance(image, dict) else image
        try:
            result = demo.run(mode, path, scale, bool(self_ensemble), progress)
        except (ImageError, ValueError) as e:  # our messages are written for the visitor
            raise gr.Error(str(e), print_exception=False) from e
        except MemoryError as e:
            raise gr.Error("Not enough memory for this image: try a smaller one or a smaller scale.") from e
        paths = [str(result.panels[k].path) if k in result.panels else None for k in PANELS]
        best = str(result.best.path)
        captions = {k: result.label(k) for k in result.panels} | {
            "slider": f"Bicubic (left) and {logic.TITLES[result.best.key]} (right)",
            "download": f"Download {result.best.path.name}",
        }
        return *paths, (paths[1], best), best, result.report(), captions

    run.__name__ = mode
    run.__doc__ = getattr(logic.Demo, mode).__doc__.splitlines()[0]
    return run


def validator(demo: logic.Demo, mode: str):
    """Checks run before a request joins the queue (Gradio's `validator`, never queued).

    They only read the upload's header, so a request that is too large, not an image or has a
    bad scale is refused in milliseconds even while the queue is long. The page shows the message
    on the input concerned; API clients get `gradio_client.exceptions.ValidationError`.
    """

    def validate(image, scale, self_ensemble):
        path = image.get("path") if isinstance(image, dict) else image
        ok = gr.validate(True, "")
        try:
            scale = demo.check_scale(scale)
        except ValueError as e:
            return ok, gr.validate(False, str(e)), ok
        try:
            demo.check_image(mode, path, scale)
        except (ImageError, ValueError) as e:
            return gr.validate(False, str(e)), ok, ok
        except Exception as e:  # a check must never break the event: let the handler report it
            print(f"warning: validator failed ({type(e).__name__}: {e})", file=sys.stderr)
        return ok, ok, ok

    return validate


def show_captions(captions: dict):
    """Second step of a run, UI only: label each panel with its time or score, enable the download."""
    return (
        *[gr.Image(label=captions[k]) if k in captions else gr.skip() for k in PANELS],
        gr.ImageSlider(label=captions["slider"]),
        gr.DownloadButton(captions["download"], interactive=True),
    )


def build_ui(demo: logic.Demo) -> gr.Blocks:
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
                                info="Compare shrinks the photo by the scale first, so each method can be scored against it.")
                scale = gr.Radio([(f"x{s}", s) for s in demo.scales], value=demo.scales[0], label="Scale", elem_id="scale")
                ensemble = gr.Checkbox(value=False, label="Self-ensemble (8 flips and rotations averaged: better, 8x slower)",
                                       elem_id="ensemble")
                upscale_btn = gr.Button("Upscale", variant="primary", size="lg", elem_id="upscale")
                compare_btn = gr.Button("Compare", variant="primary", size="lg", elem_id="compare", visible=False)
                download = gr.DownloadButton("Download result (PNG)", interactive=False, elem_id="download")
                report = gr.Markdown(f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.",
                                     label="Report", elem_id="report")
        with gr.Row(elem_id="panels"):
            panels = [gr.Image(label=logic.TITLES[k], type="filepath", interactive=False, format="png",
                               elem_id=f"panel-{k}", buttons=["download", "fullscreen"],
                               visible=k != logic.ENSEMBLE or ensemble.value) for k in PANELS]
        slider = gr.ImageSlider(label="Bicubic (left) and FSRCNN (right)", type="filepath", interactive=False,
                                format="png", elem_id="slider", max_height=560)
        captions = gr.State()

        for button, name in ((upscale_btn, logic.UPSCALE), (compare_btn, logic.COMPARE)):
            button.click(
                handler(demo, name), inputs=[image, scale, ensemble], outputs=[*panels, slider, download, report, captions],
                api_name=name, show_progress_on=panels, preprocess=False, validator=validator(demo, name),
            ).success(show_captions, inputs=captions, outputs=[*panels, slider, download], api_visibility="private", queue=False)
        # UI only: one button at a time, named after what it will do; the ensemble panel follows its switch.
        mode.change(lambda m: (gr.Button(visible=m == logic.UPSCALE), gr.Button(visible=m == logic.COMPARE)),
                    inputs=mode, outputs=[upscale_btn, compare_btn], api_visibility="private", queue=False)
        ensemble.change(lambda on: gr.Image(visible=on), inputs=ensemble, outputs=panels[-1],
                        api_visibility="private", queue=False)
    return ui


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
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
    try:
        # Each request's PNGs are copied into Gradio's cache as soon as it returns: 10 minutes is ample.
        demo = logic.Demo(upscaler, max_pixels=args.max_pixels, output_dir=work / "results", keep_seconds=600)
        print(f"FSRCNN {', '.join(f'x{s}' for s in demo.scales)} loaded on {upscaler.device_name} "
              f"({time.perf_counter() - STARTED:.1f} s after start)", flush=True)
        # Compiling the network for the common tile shapes takes seconds: do it while the page loads.
        threading.Thread(target=demo.warm_up, name="warm-up", daemon=True).start()
        ui = build_ui(demo)
        # One request at a time by default: the network already uses every core, and memory stays
        # that of one request. The rest wait their turn in the queue.
        ui.queue(default_concurrency_limit=args.concurrency, max_size=QUEUE_SIZE)
        if args.host not in LOOPBACK:
            print(f"note: listening on {args.host}: the app is reachable from other computers", flush=True)
        # Gradio serves files only from its upload folder and cache (no allowed_paths are added), so
        # no other file on this machine can be fetched through /gradio_api/file=.
        ui.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD,
                  ssr_mode=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
