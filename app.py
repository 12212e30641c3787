"""FSRCNN super-resolution in the browser: `python app.py`, then open http://127.0.0.1:7860.

Only the wiring lives here (argument parsing, building the page, its events, launch and shutdown):
the page's components and text are `fsrcnn.page` (a `Page` names them), the event functions
`fsrcnn.events` (each returns a dict keyed by component), and what the buttons do `fsrcnn.demo`
(and `fsrcnn.batch` for many photos). The two buttons double as
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
from pathlib import Path

STARTED = time.perf_counter()  # the start-up time printed counts the imports, the slowest part

# Before Gradio and TensorFlow are imported: no telemetry, no request leaves the machine, no chatter.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
from fsrcnn import quiet  # noqa: E402

quiet.environment()

import gradio as gr  # noqa: E402

with quiet.stderr_silenced():  # TensorFlow, where a module still imports it, prints while it loads
    from fsrcnn import demo as logic  # noqa: E402
    from fsrcnn import events  # noqa: E402
    from fsrcnn.checks import COMPARE, UPSCALE  # noqa: E402
    from fsrcnn.engines import ENGINE_HELP, ENGINES  # noqa: E402
    from fsrcnn.jobs import ENSEMBLE  # noqa: E402
    from fsrcnn.page import CSS, HEAD, MAX_UPLOAD, SCROLL, Page, layout, theme  # noqa: E402
    from fsrcnn.upscaler import SCALES, Upscaler  # noqa: E402
    from fsrcnn.weights import WeightsError  # noqa: E402

QUEUE_SIZE = 32  # requests waiting beyond this are told "queue is full" at once (HTTP 503), not kept
LOOPBACK = ("127.0.0.1", "localhost", "::1")


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


def build_ui(demo: logic.Demo, example: dict | None = None) -> gr.Blocks:
    with gr.Blocks(title="FSRCNN super-resolution", analytics_enabled=False, delete_cache=(1800, 3600)) as ui:
        page = layout(demo)
        wire(ui, page, demo, example if example is not None else {})
    return ui


def wire(ui: gr.Blocks, page: Page, demo: logic.Demo, example: dict) -> None:
    """Every event of the page (called inside build_ui's Blocks)."""
    for button, name in ((page.upscale_btn, UPSCALE), (page.compare_btn, COMPARE)):
        button.click(None, js=SCROLL)  # in the browser only: the detail view comes into view at once
        run = button.click(events.handler(page, demo, name), inputs=page.inputs(name), outputs=page.results,
                           api_name=name, show_progress_on=[page.download], preprocess=False,
                           validator=events.validator(demo, name))
        run.success(events.show_captions(page), inputs=page.job,
                    outputs=[*page.titles.values(), page.slider, page.download], api_visibility="private", queue=False)
        run.failure(lambda: events.cleared(page, events.FAILED), outputs=page.clearable, api_visibility="private",
                    queue=False)
    page.overview.change(None, js=SCROLL)  # and again when the first answer has laid it out
    # UI only: moving the region or the zoom recomputes the crops, nothing else.
    page.overview.select(events.mover(page, demo), inputs=[page.job, page.zoom], outputs=page.detail,
                         api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    page.zoom.change(events.zoomer(page, demo), inputs=[page.job, page.zoom], outputs=page.detail,
                     api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    # A new input or setting: the old results go, and a bad file is named as soon as it is dropped.
    reset = events.resetter(page, demo)
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
    page.many_btn.click(events.many(page, demo), inputs=[page.files, page.scale, page.ensemble, page.model,
                                                         page.fmt, page.quality, page.width, page.height],
                        outputs=[page.many_download, page.many_report], show_progress_on=[page.many_download],
                        preprocess=False, api_name="upscale_many", api_visibility="private")
    ui.load(events.example_shower(page, demo, example), inputs=page.job,
            outputs=[page.warming, *page.detail[:-1], *page.titles.values()], api_visibility="private", queue=False)
    timer = gr.Timer(2.0, active=not demo.upscaler.warm)
    timer.tick(lambda: {page.warming: gr.Markdown(visible=not demo.upscaler.warm),
                        timer: gr.Timer(active=not demo.upscaler.warm)},
               outputs=[page.warming, timer], api_visibility="private", queue=False, show_progress="hidden")


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
