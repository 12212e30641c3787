"""The app's latency as a visitor meets it: `python app.py` on loopback, timed through gradio_client.

For each case (a 1-megapixel photo at x2 and x4, with and without the self-ensemble, and a
12-megapixel phone-sized JPEG at x2) `--repeats` requests are sent, once the app's warm-up is over
and after one request of ours; each column is the median over them. The client
notes when the detail view arrives (the first streamed answer) and when the full result does.
The full result's time is split into the network and the PNG encoding (the app's report states
both), the rest of the server's work (reading, overview, crops, Gradio) and the transfer of the
PNG to the client. Each case has a server of its own, so the peak resident memory (VmHWM) read
after it is that case's (start-up and warm-up included); the time from starting each server to
its first HTTP 200 is reported too.

Each case's server first gets one request as soon as its page answers, while it still compiles its
networks (the warm-up yields to requests: Upscaler.serving); its time, and its ratio to the warm
median, are the last two columns.

Moving the region cannot be called through the API (it is a UI event), so it is timed in this
process on the 1-megapixel photo at x4 with the self-ensemble: `Demo.detail` for a new place.

    python benchmarks/app_latency.py [--weights-dir weights/] [--skip-12mp] [--repeats 3]
"""
import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]
from fsrcnn.launcher import memory_kib, serve_app, wait_for_warm_up  # noqa: E402

PHOTO = ROOT.parent / "shared" / "data" / "Photos24" / "001.png"  # 1276x850


def make_photos(folder: Path) -> dict[str, Path]:
    """A 1-megapixel JPEG (a Photos24 photo when ../shared is here) and a 4032x3024 one made from it."""
    rng = np.random.default_rng(0)
    if PHOTO.exists():
        with Image.open(PHOTO) as im:
            small = im.convert("RGB").resize((1155, 866), Image.Resampling.LANCZOS)
    else:
        yy, xx = np.mgrid[0:866, 0:1155] / 100.0
        base = np.stack([128 + 90 * np.sin(3 * xx + c) * np.cos(2 * yy * (1 + c)) for c in (0, 1, 2)], -1)
        small = Image.fromarray((base + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8))
    photos = {"1mp": folder / "photo_1mp.jpg", "12mp": folder / "phone_12mp.jpg"}
    small.save(photos["1mp"], quality=92)
    big = np.asarray(small.resize((4032, 3024), Image.Resampling.BICUBIC), np.float32)
    big += rng.normal(0, 2.5, big.shape)  # sensor noise, as a phone's photo has
    Image.fromarray(big.clip(0, 255).astype(np.uint8)).save(photos["12mp"], quality=90)
    return photos


def seconds_in(report: str, pattern: str) -> float:
    m = re.search(pattern + r" (\d+(?:\.\d+)?) (ms|s)", report)
    if not m:
        raise ValueError(f"no {pattern!r} in the report:\n{report}")
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def one_request(client, image: Path, scale: int, tta: bool, work: Path) -> dict:
    import httpx
    from gradio_client import handle_file

    start = time.perf_counter()
    job = client.submit(handle_file(image), scale, tta, api_name="/upscale")
    detail = None
    while not job.done():
        if detail is None and job.outputs():
            detail = time.perf_counter() - start
        time.sleep(0.005)
    *_, download, report = job.result()
    answered = time.perf_counter() - start
    if detail is None:  # the first answer came with the last
        detail = answered
    url = download["url"] if isinstance(download, dict) else download
    t = time.perf_counter()
    with httpx.stream("GET", url, timeout=600) as r, open(work / "result.png", "wb") as f:
        for chunk in r.iter_bytes(1 << 20):
            f.write(chunk)
    transfer = time.perf_counter() - t
    network = seconds_in(report, r"Full result: [^\n]*? in")
    png = seconds_in(report, "PNG written in")
    return {"detail": detail, "result": answered + transfer, "network": network, "png": png,
            "other": answered - network - png, "transfer": transfer,
            "megabytes": (work / "result.png").stat().st_size / 1e6}


def time_moves(weights_dir: Path | None, photo: Path, repeats: int = 5) -> list[float]:
    """Seconds for Demo.detail at new places, 1-megapixel photo, x4 with the self-ensemble."""
    from fsrcnn import quiet

    with quiet.stderr_silenced():
        from fsrcnn import demo as logic
        from fsrcnn.upscaler import Upscaler

        upscaler = Upscaler(weights_dir=weights_dir)
    demo = logic.Demo(upscaler, output_dir=tempfile.mkdtemp(prefix="fsrcnn-moves-"))
    job = demo.start(logic.UPSCALE, photo, 4, tta=True)
    demo.detail(job)  # compiles the crop's shapes
    w, h = job.lr_size
    times = []
    for i in range(repeats):
        centre = ((0.15 + 0.7 * i / repeats) * w, (0.8 - 0.6 * i / repeats) * h)
        start = time.perf_counter()
        demo.detail(job, centre)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights-dir", type=Path, default=ROOT / "weights")
    p.add_argument("--only", help="run only the cases whose name contains this (e.g. '12 MP' or 'x4 + ensemble')")
    p.add_argument("--skip-12mp", action="store_true",
                   help="leave out the 12-megapixel case (tens of seconds on 2 cores)")
    p.add_argument("--repeats", type=int, default=3,
                   help="requests per case; each column is the median (one slow request says little)")
    args = p.parse_args(argv)
    from gradio_client import Client

    cases = [("1 MP x2", "1mp", 2, False), ("1 MP x2 + ensemble", "1mp", 2, True), ("1 MP x4", "1mp", 4, False),
             ("1 MP x4 + ensemble", "1mp", 4, True)] + ([] if args.skip_12mp else [("12 MP x2", "12mp", 2, False)])
    cases = [c for c in cases if not args.only or args.only in c[0]]
    with tempfile.TemporaryDirectory(prefix="fsrcnn-latency-") as tmp:
        work = Path(tmp)
        photos = make_photos(work)
        rows, ready = [], []
        for name, photo, scale, tta in cases:
            with serve_app(args.weights_dir, work / "app") as server:  # a fresh server: the peak is this case's
                client = Client(server.url, verbose=False, download_files=False)
                # As soon as the page answers, while the app still compiles: the first visitor's wait.
                cold = one_request(client, photos[photo], scale, tta, work)
                wait_for_warm_up(server)
                one_request(client, photos[photo], scale, tta, work)  # ours: fills the caches of this case
                runs = [one_request(client, photos[photo], scale, tta, work) for _ in range(args.repeats)]
                timing = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                timing["peak_mib"] = memory_kib(server.pid)[1] / 1024
                timing["cold"] = cold["result"]
            ready.append(server.ready_seconds)
            rows.append((name, timing))
            print(f"{name}: done", file=sys.stderr, flush=True)
        print("| Case | Detail view | Full result | Network | Other image work | PNG encoding | Transfer | "
              "Result − network | PNG | Server peak (VmHWM) | First request, during warm-up | ÷ warm |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, t in rows:
            print(f"| {name} | {t['detail']:.2f} s | {t['result']:.2f} s | {t['network']:.2f} s | {t['other']:.2f} s | "
                  f"{t['png']:.2f} s | {t['transfer']:.2f} s | {t['result'] - t['network']:+.2f} s | "
                  f"{t['megabytes']:.0f} MB | {t['peak_mib']:.0f} MiB | {t['cold']:.2f} s | "
                  f"{t['cold'] / t['result']:.2f}× |")
        print(f"\n`python app.py` ready (first HTTP 200): median {statistics.median(ready):.2f} s, max "
              f"{max(ready):.2f} s over its {len(ready)} starts")
        moves = time_moves(args.weights_dir, photos["1mp"])
        print(f"\nMoving the region (1 MP x4 + ensemble, crops only, in-process): median "
              f"{statistics.median(moves):.2f} s, max {max(moves):.2f} s over {len(moves)} moves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
