"""Load test of the app: N concurrent API clients x M requests each against `python app.py` on loopback.

Starts the app on a free loopback port with its own temporary folder (fsrcnn/launcher.py), has every client send its
requests one after the other (as a visitor would) through `gradio_client`, checks every answer
(crops of the right size, the download a PNG of the right size), and reports requests
served, errors, latency percentiles and the server's peak resident memory. Then it stops the app
with SIGTERM, as a service manager would, and counts the temporary files left behind. Bounded in
count (clients x requests) and in time (--timeout: whatever is unanswered by then is an error).

    python benchmarks/load.py [--clients 16] [--requests 4] [--size 512] [--scale 2]
                              [--no-ensemble] [--weights-dir weights/] [--concurrency 1] [--timeout 1800]

Exit status 0 only when every request was answered correctly. Not part of the test suite;
tests/test_load.py runs a short version through the same functions.
"""
import argparse
import concurrent.futures
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fsrcnn.launcher import Server, memory_kib, serve_app, wait_for_warm_up  # noqa: E402, F401  (the one launcher)


@dataclass
class Outcome:
    client: int
    seconds: float
    error: str | None = None  # None: answered, and the answer checked out


@dataclass
class Report:
    outcomes: list[Outcome]
    wall_seconds: float
    rss_after_start_kib: int | None
    peak_rss_kib: int | None
    files_left: int | None = None
    settings: dict = field(default_factory=dict)

    @property
    def served(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is None]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]


def write_photo(path: Path, size: int, seed: int = 0) -> Path:
    """A deterministic photo-like RGB PNG (smooth shading, edges, noise), so PNG sizes are realistic."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([128 + 90 * np.sin(9 * xx + c + seed) * np.cos(7 * yy - c) for c in (0.0, 1.0, 2.0)], -1)
    rgb[(xx * 13).astype(int) % 2 == (yy * 11).astype(int) % 2] *= 0.7
    rgb += rng.normal(0, 4, rgb.shape)
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(path)
    return path


def check_answer(answer, size: int, scale: int, tta: bool) -> None:
    """Raise AssertionError unless the outputs of /upscale (docs/app.md) are what was asked for."""
    from PIL import Image

    overview, original, bicubic, fsrcnn, photo, ensemble, slider, download, report = answer
    crops = [original, bicubic, fsrcnn] + ([ensemble] if tta else [])
    assert (ensemble is None) != tta, f"self-ensemble crop is {ensemble!r} with self-ensemble {'on' if tta else 'off'}"
    side = min(256, size * scale)
    for path, want in [(p, (side, side)) for p in crops] + [(download, (size * scale, size * scale))]:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{Path(path).name} is not a PNG"
        with Image.open(path) as im:
            assert im.size == want, f"{Path(path).name} is {im.size}"
    best = "ensemble" if tta else "(fsrcnn|photo)"  # plain: whichever weights Auto picked
    assert re.search(f"_x{scale}_{best}\\.png$", Path(download).name), download
    assert f"{size}×{size} → {size * scale}×{size * scale}" in report, report


def run_client(url: str, client_id: int, requests: int, image: Path, size: int, scale: int, tta: bool,
               deadline: float, downloads: Path) -> list[Outcome]:
    """One visitor: `requests` upscales one after the other; each answer is checked, then deleted."""
    from gradio_client import Client, handle_file

    outcomes = []
    folder = downloads / f"client{client_id}"
    try:
        client = Client(url, verbose=False, download_files=str(folder))
    except Exception as e:  # the app did not even answer: every request of this client failed
        return [Outcome(client_id, 0.0, f"cannot connect: {type(e).__name__}: {e}")] * requests
    for _ in range(requests):
        start = time.perf_counter()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcomes.append(Outcome(client_id, 0.0, "not sent: the overall time limit was reached"))
            continue
        job = client.submit(handle_file(image), scale, tta, api_name="/upscale")
        try:
            answer = job.result(timeout=remaining)
            seconds = time.perf_counter() - start
            check_answer(answer, size, scale, tta)
            outcomes.append(Outcome(client_id, seconds))
        except concurrent.futures.TimeoutError:
            job.cancel()
            outcomes.append(Outcome(client_id, time.perf_counter() - start, "no answer within the time limit"))
        except Exception as e:  # an error from the app, or an answer that does not check out
            outcomes.append(Outcome(client_id, time.perf_counter() - start, f"{type(e).__name__}: {e}"))
        shutil.rmtree(folder, ignore_errors=True)  # 5 large PNGs per answer: keep the disk tidy
    client.close()
    return outcomes


def load_test(server: Server, workdir: Path, clients: int = 16, requests: int = 4, size: int = 512,
              scale: int = 2, tta: bool = True, timeout: float = 1800) -> Report:
    """All clients at once against a running app; every outcome, the wall time and the server's memory."""
    images = [write_photo(workdir / f"photo{i}.png", size, seed=i) for i in range(clients)]
    rss_after_start, _ = memory_kib(server.pid)
    deadline = time.monotonic() + timeout
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(run_client, server.url, i, requests, images[i], size, scale, tta, deadline,
                               workdir / "downloads") for i in range(clients)]
        outcomes = [o for f in futures for o in f.result()]
    wall = time.perf_counter() - start
    _, peak = memory_kib(server.pid)
    settings = dict(clients=clients, requests=requests, size=size, scale=scale, tta=tta, timeout=timeout)
    return Report(outcomes, wall, rss_after_start, peak, settings=settings)


def percentile(values: list[float], q: float) -> float:
    """q-th percentile (0..100), linear between the nearest ranks, as numpy's default."""
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    pos = (len(values) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def format_report(report: Report, concurrency: int = 1) -> str:
    s = report.settings
    total = s["clients"] * s["requests"]
    lines = [
        f"load test: {s['clients']} clients x {s['requests']} requests, {s['size']}x{s['size']} RGB, "
        f"x{s['scale']}, self-ensemble {'on' if s['tta'] else 'off'}, server concurrency {concurrency}",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| requests answered correctly | {len(report.served)} / {total} |",
        f"| errors | {len(report.errors)} |",
        f"| wall time | {report.wall_seconds:.1f} s ({len(report.served) / report.wall_seconds:.2f} requests/s) |",
    ]
    latencies = [o.seconds for o in report.served]
    if latencies:
        p = {q: percentile(latencies, q) for q in (50, 90, 99)}
        lines.append(f"| latency p50 / p90 / p99 / max | {p[50]:.1f} / {p[90]:.1f} / {p[99]:.1f} / "
                     f"{max(latencies):.1f} s |")
        lines.append(f"| latency mean | {statistics.mean(latencies):.1f} s |")
    if report.peak_rss_kib is not None:
        lines.append(f"| server peak RSS (VmHWM) | {report.peak_rss_kib / 1024:.0f} MiB |")
        lines.append(f"| server RSS when the load began | {report.rss_after_start_kib / 1024:.0f} MiB |")
    if report.files_left is not None:
        lines.append(f"| temporary files left after SIGTERM | {report.files_left} |")
    errors = {}
    for o in report.errors:
        errors[o.error] = errors.get(o.error, 0) + 1
    lines += [f"error x{n}: {e}" for e, n in errors.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, default=16, help="concurrent API clients")
    p.add_argument("--requests", type=int, default=4, help="requests per client, one after the other")
    p.add_argument("--size", type=int, default=512, help="side of the square input image, in pixels")
    p.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    p.add_argument("--no-ensemble", action="store_true", help="switch the self-ensemble off")
    p.add_argument("--weights-dir", type=Path, default=ROOT / "weights", help="passed to app.py")
    p.add_argument("--concurrency", type=int, default=1, help="passed to app.py: requests processed at once")
    p.add_argument("--timeout", type=float, default=1800, help="overall limit in seconds for all requests")
    args = p.parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        p.error("--clients and --requests must be at least 1")

    with tempfile.TemporaryDirectory(prefix="fsrcnn-load-") as tmp:
        workdir = Path(tmp)
        print(f"starting app.py with {args.weights_dir} ...", flush=True)
        with serve_app(args.weights_dir, workdir, "--concurrency", str(args.concurrency)) as server:
            print(f"{server.url} is up; {args.clients} clients x {args.requests} requests ...", flush=True)
            ticker = _Ticker(server.pid)
            report = load_test(server, workdir, args.clients, args.requests, args.size, args.scale,
                               not args.no_ensemble, args.timeout)
            ticker.stop()
        report.files_left = server.files_left
    print(format_report(report, args.concurrency))
    return 0 if not report.errors and len(report.served) == args.clients * args.requests else 1


class _Ticker:
    """A line every 30 s while the load runs (server memory), so a long run shows it is alive."""

    def __init__(self, pid: int, every: float = 30):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid, every), daemon=True)
        self._start = time.monotonic()
        self._thread.start()

    def _run(self, pid, every):
        while not self._stop.wait(every):
            rss, peak = memory_kib(pid)
            if rss is not None:
                print(f"  {time.monotonic() - self._start:5.0f} s: server RSS {rss / 1024:.0f} MiB "
                      f"(peak {peak / 1024:.0f} MiB)", flush=True)

    def stop(self):
        self._stop.set()


if __name__ == "__main__":
    sys.exit(main())
