"""PNG encoding of upscaled photos: time and size of every zlib level and strategy, through Pillow.

The command line writes its results with Pillow at `--png-compression` (a zlib level); this measures
what each level costs and saves on real results (FSRCNN x3 of 1024x768 Photos24 crops, or synthetic
photos without the data set), as ratios against Pillow's default (level 6). Every level is lossless:
the script checks that each file decodes to the same pixels.

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


def encode(im: Image.Image, level: int, strategy: int) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=level, compress_type=strategy)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--levels", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()

    from files import photos  # benchmarks/files.py

    from fsrcnn.images import Loaded
    from fsrcnn.upscaler import Upscaler, upscale_image

    upscaler = Upscaler([3])
    results = [upscale_image(upscaler, Loaded(im), 3) for im in photos(args.photos)]
    zlib_name = f"zlib-ng {features.version('zlib_ng')}" if features.check("zlib_ng") else f"zlib {features.version('zlib')}"
    print(f"{len(results)} FSRCNN x3 results of {results[0].width}x{results[0].height}; Pillow "
          f"{Image.__version__} with {zlib_name}; median of {args.repeat} interleaved rounds\n")
    cases = [(level, name) for level in args.levels for name in STRATEGIES if level > 0 or name == "default"]
    times = {case: [] for case in cases}
    sizes = {}
    for _ in range(args.repeat):
        for case in cases:
            level, name = case
            t = time.perf_counter()
            data = [encode(im, level, STRATEGIES[name]) for im in results]
            times[case].append(time.perf_counter() - t)
            sizes[case] = sum(map(len, data))
    for case in cases:  # lossless, whatever the level: check once
        for im in results:
            decoded = np.asarray(Image.open(io.BytesIO(encode(im, *((case[0], STRATEGIES[case[1]]))))))
            assert np.array_equal(decoded, np.asarray(im)), case
    base = (6, "default")
    t6, s6 = statistics.median(times[base]), sizes[base]
    print("| zlib level | strategy | seconds per photo | size (MB per photo) | time vs level 6 | size vs level 6 |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        t = statistics.median(times[case])
        print(f"| {case[0]} | {case[1]} | {t / len(results):.3f} | {sizes[case] / len(results) / 1e6:.2f} | "
              f"{t / t6:.2f}x | {sizes[case] / s6:.2f}x |")


if __name__ == "__main__":
    main()
