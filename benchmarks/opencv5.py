"""OpenCV 5 with our ONNX files: cv2.dnn against ONNX Runtime, and their speed, in an environment
that has OpenCV 5 (which cannot share one with the OpenCV 4 of requirements-dev.txt):

    python -m fsrcnn export --all /tmp/fsrcnn-files --format onnx         # here, then also onnx-rgb
    python -m venv /tmp/cv5 && /tmp/cv5/bin/pip install opencv-contrib-python-headless onnxruntime numpy
    /tmp/cv5/bin/python benchmarks/opencv5.py /tmp/fsrcnn-files [--size 256] [--repeat 5]

Needs only numpy, OpenCV and ONNX Runtime (not this project's packages). Prints, per scale, the
largest difference between cv2.dnn and ONNX Runtime (luma file: float; RGB file: uint8 levels)
and the median times of both on the same photo-like input.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort


def median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where `fsrcnn export --all` wrote the ONNX files")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : args.size, 0 : args.size] / args.size
    rgb = np.stack([128 + 90 * np.sin(9 * xx + c) * np.cos(7 * yy - c) for c in (0.0, 1.0, 2.0)], -1)
    rgb = (rgb + rng.normal(0, 3, rgb.shape)).clip(0, 255).astype(np.uint8)
    y = ((16 + rgb @ np.array([65.481, 128.553, 24.966]) / 255) / 255).astype(np.float32)[None, None]
    print(f"OpenCV {cv2.__version__}, ONNX Runtime {ort.__version__}; {args.size}x{args.size} input, median of "
          f"{args.repeat}\n")
    print("| scale | file | max difference cv2.dnn vs ONNX Runtime | cv2.dnn (s) | ONNX Runtime (s) |")
    print("|---|---|---|---|---|")
    for scale in (2, 3, 4):
        for name, feed in ((f"fsrcnn_x{scale}.onnx", y), (f"fsrcnn_x{scale}_rgb.onnx", rgb)):
            path = args.folder / name
            if not path.exists():
                print(f"| x{scale} | {name} | missing | | |")
                continue
            net = cv2.dnn.readNet(str(path))
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            key = session.get_inputs()[0].name

            def by_opencv(net=net, feed=feed):
                net.setInput(feed)
                return net.forward()

            def by_ort(session=session, key=key, feed=feed):
                return session.run(None, {key: feed})[0]

            diff = np.abs(np.asarray(by_opencv(), np.float64) - by_ort()).max()
            print(f"| x{scale} | {name} | {diff:.2e} | {median_time(by_opencv, args.repeat):.3f} | "
                  f"{median_time(by_ort, args.repeat):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
