"""File in, file out: the command line against a 10-line OpenCV dnn_superres script, whole processes.

What a user waits for is a whole process: start, read, upscale, write PNG. Both sides run as fresh
processes on the same input files, in interleaved rounds (one run of each per round, so a slow spell
of a shared machine hits both alike); the medians of their wall times and the ratio are printed,
and of their CPU times (user + system, every thread), which a busy machine disturbs less.

    python benchmarks/files.py [--rounds 3] [--cases many one] [--help-runs 5] [--memory]
                               [--cli-args "--png-compression 6"]

Inputs: 1024x768 crops of ../shared/data/Photos24 saved as JPEG (quality 95, as a camera writes
them), or natural-looking synthetic photos when the data set is not there; they are written to a
temporary folder, never into the repository. Cases: `many` (12 photos at x3), `one` (one photo at
x3). Also timed: `python -m fsrcnn upscale --help`; with --memory, the peak resident memory (VmHWM
of the process, from getrusage) of both sides on one 4000x3000 photo at x2.

The OpenCV side is benchmarks/opencv_upscale.py with ../shared/peers/opencv/FSRCNN_x{scale}.pb; it
needs `pip install -r benchmarks/requirements.txt`.
"""
import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "data" / "Photos24"
PEERS = ROOT.parent / "shared" / "peers" / "opencv"
OPENCV_SCRIPT = Path(__file__).resolve().parent / "opencv_upscale.py"
SIZE = (1024, 768)


def synthetic_photo(size: tuple[int, int], seed: int) -> Image.Image:
    """Natural-looking stand-in: smooth shading, blurred shapes and fine noise (sensor grain, texture)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([128 + 70 * np.sin(rng.uniform(2, 6) * xx + c) * np.cos(rng.uniform(2, 6) * yy - c)
                     for c in rng.uniform(0, 3, 3)], -1)
    coarse = np.asarray(Image.fromarray(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8))
                        .resize(size, Image.BICUBIC), float)
    img = 0.6 * base + 0.4 * coarse + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(img.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))


def photos(count: int, size: tuple[int, int] = SIZE) -> list[Image.Image]:
    """`count` RGB photos of `size`: centre crops of Photos24 (those large enough, resized up if none is)."""
    found = []
    if PHOTOS.is_dir():
        for path in sorted(PHOTOS.glob("*.png")):
            with Image.open(path) as im:
                im = im.convert("RGB")
                if im.width >= size[0] and im.height >= size[1]:
                    left, top = (im.width - size[0]) // 2, (im.height - size[1]) // 2
                    found.append(im.crop((left, top, left + size[0], top + size[1])))
                elif size[0] > 1024:  # the memory case: a large photo from a smaller one
                    found.append(im.resize(size, Image.LANCZOS))
            if len(found) == count:
                return found
    return found + [synthetic_photo(size, seed) for seed in range(count - len(found))]


def write_inputs(folder: Path, images: list[Image.Image]) -> Path:
    folder.mkdir(parents=True)
    for i, im in enumerate(images):
        im.save(folder / f"photo{i:02d}.jpg", quality=95)
    return folder


def commands(inputs: Path, out: Path, scale: int, cli_args: list[str]) -> dict[str, list[str]]:
    return {
        "fsrcnn CLI": [sys.executable, "-m", "fsrcnn", "upscale", str(inputs), "--scale", str(scale),
                       "--output", str(out / "cli"), *cli_args],
        "OpenCV script": [sys.executable, str(OPENCV_SCRIPT), str(inputs), str(out / "opencv"),
                          str(PEERS / f"FSRCNN_x{scale}.pb"), str(scale)],
    }


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(cmds: dict[str, list[str]], rounds: int, clean: list[Path]) -> dict[str, tuple[float, float]]:
    """Median wall and CPU time of each command over interleaved rounds; outputs are removed before each run."""
    times = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            for folder in clean:
                shutil.rmtree(folder, ignore_errors=True)
            times[name].append(run(cmd))
    return {name: tuple(statistics.median(t[i] for t in ts) for i in (0, 1)) for name, ts in times.items()}


def peak_memory(cmd: list[str]) -> str:
    """Peak resident memory of `cmd`, read in a fresh wrapper process whose only child it is."""
    wrapper = ("import resource, subprocess, sys;"
               "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode;"
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=ROOT, check=True, capture_output=True, text=True)
    code, peak = map(int, out.stdout.split()[-2:])
    peak_gib = f"{peak / 2**20:.2f} GiB"  # ru_maxrss is in KiB on Linux
    return peak_gib if code == 0 else f"failed with exit status {code} after {peak_gib} (out of memory?)"


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=("many", "one"), default=["many", "one"])
    parser.add_argument("--count", type=int, default=12, help="photos in the `many` case")
    parser.add_argument("--scale", type=int, default=3, choices=(2, 3, 4))
    parser.add_argument("--help-runs", type=int, default=5, help="runs of `upscale --help` (0: skip)")
    parser.add_argument("--memory", action="store_true", help="peak memory of a 4000x3000 photo at x2")
    parser.add_argument("--cli-args", default="", help="extra arguments for the CLI, e.g. '--png-compression 6'")
    args = parser.parse_args()
    cli_args = shlex.split(args.cli_args)
    try:
        import cv2  # noqa: F401
    except ImportError:
        sys.exit("OpenCV is missing: pip install -r benchmarks/requirements.txt")
    print(f"before: {machine_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = photos(args.count)
        source = "Photos24 crops" if PHOTOS.is_dir() else "synthetic photos"
        cases = {"many": images, "one": images[:1]}
        print(f"inputs: {source}, {SIZE[0]}x{SIZE[1]} JPEG, x{args.scale}; medians of {args.rounds} interleaved "
              f"rounds, whole-process wall time; CLI arguments: {' '.join(cli_args) or '(defaults)'}\n")
        print("| case | fsrcnn CLI (s) | OpenCV script (s) | CLI / OpenCV | CPU s, CLI | CPU s, OpenCV | CPU ratio |")
        print("|---|---|---|---|---|---|---|")
        for case in args.cases:
            inputs = write_inputs(tmp / case, cases[case])
            out = tmp / f"{case}-out"
            cmds = commands(inputs, out, args.scale, cli_args)
            times = interleaved(cmds, args.rounds, [out / "cli", out / "opencv"])
            (cli, cli_cpu), (cv, cv_cpu) = times["fsrcnn CLI"], times["OpenCV script"]
            print(f"| {len(cases[case])} photo(s) x{args.scale} | {cli:.2f} | {cv:.2f} | {cli / cv:.2f}x | "
                  f"{cli_cpu:.2f} | {cv_cpu:.2f} | {cli_cpu / cv_cpu:.2f}x |", flush=True)
        if args.help_runs:
            help_times = [run([sys.executable, "-m", "fsrcnn", "upscale", "--help"])[0] for _ in range(args.help_runs)]
            bare = statistics.median(run([sys.executable, "-c", "pass"])[0] for _ in range(args.help_runs))
            print(f"\n`python -m fsrcnn upscale --help`: {statistics.median(help_times):.2f} s median of "
                  f"{args.help_runs} (a bare `python -c pass`: {bare:.2f} s)")
        if args.memory:
            inputs = write_inputs(tmp / "large", photos(1, (4000, 3000)))
            cmds = commands(inputs, tmp / "large-out", 2, cli_args)
            peaks = {name: peak_memory(cmd) for name, cmd in cmds.items()}
            print(f"\npeak resident memory, one 4000x3000 photo at x2: fsrcnn CLI {peaks['fsrcnn CLI']}, "
                  f"OpenCV script {peaks['OpenCV script']}")
    print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
