"""PNG encoding of upscaled photos: time and size of every zlib level, Pillow's encoder against fsrcnn/png.py.

The command line writes its results with fsrcnn/png.py at `--png-compression` (a zlib level); this
measures what each level costs and saves on real results (FSRCNN x3 of 1024x768 Photos24 crops, or
synthetic photos without the data set), against Pillow's encoder with each zlib strategy, as ratios
against Pillow's default (level 6). Times are wall time and CPU time (all threads) per photo. Every
file is checked to decode to the same pixels.

    python benchmarks/png.py [--photos 3] [--repeat 3]
"""
import argparse
import io
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, features

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "filtered": zlib.Z_FILTERED, "RLE": zlib.Z_RLE,
              "Huffman only": zlib.Z_HUFFMAN_ONLY}


def encode(im: Image.Image, level: int, strategy: str) -> bytes:
    if strategy.startswith("png.py"):
        return png.encode_png(np.asarray(im), im.mode, level=level, threads=1 if "1 thread" in strategy else None)
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=level, compress_type=STRATEGIES[strategy])
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--levels", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()

    from files import photos  # benchmarks/files.py

    global png
    from fsrcnn import png
    from fsrcnn.images import Loaded
    from fsrcnn.upscaler import Upscaler, upscale_image

    upscaler = Upscaler([3])
    results = [upscale_image(upscaler, Loaded(im), 3) for im in photos(args.photos)]
    zlib_name = (f"zlib-ng {features.version('zlib_ng')}" if features.check("zlib_ng")
                 else f"zlib {features.version('zlib')}")
    print(f"{len(results)} FSRCNN x3 results of {results[0].width}x{results[0].height}; Pillow "
          f"{Image.__version__} with {zlib_name}; median of {args.repeat} interleaved rounds\n")
    writers = ["png.py (Up filter, bands on every core)", "png.py, 1 thread"] + [f"Pillow, {s}" for s in STRATEGIES]
    cases = [(level, name) for level in args.levels for name in writers
             if level > 0 or name in (writers[0], "Pillow, default")]
    times, cpu, sizes = {case: [] for case in cases}, {case: [] for case in cases}, {}
    for _ in range(args.repeat):
        for case in cases:
            level, name = case
            t, c = time.perf_counter(), time.process_time()
            data = [encode(im, level, name.removeprefix("Pillow, ")) for im in results]
            times[case].append(time.perf_counter() - t)
            cpu[case].append(time.process_time() - c)
            sizes[case] = sum(map(len, data))
    for case in cases:  # lossless, whatever the level: check once
        for im in results:
            decoded = np.asarray(Image.open(io.BytesIO(encode(im, case[0], case[1].removeprefix("Pillow, ")))))
            assert np.array_equal(decoded, np.asarray(im)), case
    base = (6, "Pillow, default")
    t6, s6 = statistics.median(times[base]), sizes[base]
    n = len(results)
    print("| zlib level | writer | wall s per photo | CPU s per photo | MB per photo | wall vs Pillow 6 "
          "| size vs Pillow 6 |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        t = statistics.median(times[case])
        print(f"| {case[0]} | {case[1]} | {t / n:.3f} | {statistics.median(cpu[case]) / n:.3f} | "
              f"{sizes[case] / n / 1e6:.2f} | {t / t6:.2f}x | {sizes[case] / s6:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
