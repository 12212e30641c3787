"""Speed of the shared inference module (each engine on the same tiles: OpenVINO, ONNX Runtime,
XLA) against PIL bicubic, OpenCV's dnn_superres FSRCNN, and our exported files in other runtimes
(our .pb in dnn_superres, our RGB ONNX in ONNX Runtime and in cv2.dnn, OpenCV 4 or 5).

Everything is timed in this one run on the same inputs, and reported as ratios, so the numbers
compare methods on whatever machine runs it. Usage:

    python benchmarks/speed.py [--sizes 256 512 1024] [--scales 2 3 4] [--repeat 5] [--memory]

OpenCV's rows need `pip install -r benchmarks/requirements.txt` (OpenCV 4: the .pb rows) and
../shared/peers/opencv/; with OpenCV 5 only the cv2.dnn row of our ONNX remains.
--memory also measures the peak resident memory of upscaling one 4000x3000 photo at x2 (tiled),
in a separate process so that nothing else is counted.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

PEERS = ROOT.parent / "shared" / "peers" / "opencv"


def photo(size: int) -> np.ndarray:
    """A deterministic photo-like RGB test image (smooth shading plus edges)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([128 + 90 * np.sin(9 * xx + c) * np.cos(7 * yy - c) for c in (0.0, 1.0, 2.0)], -1)
    rgb[(xx * 13).astype(int) % 2 == (yy * 11).astype(int) % 2] *= 0.7
    return rgb.clip(0, 255).astype(np.uint8)


def median_times(methods: dict, repeat: int) -> dict:
    """Median wall time of each method, timed in interleaved rounds (one call of each per round),
    so that a slow spell of a shared machine hits every method alike."""
    for fn in methods.values():
        fn()  # warm-up: compilation, caches
    times = {name: [] for name in methods}
    for _ in range(repeat):
        for name, fn in methods.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def opencv_upsampler(scale: int, model: Path | None = None):
    """dnn_superres with OpenCV's own FSRCNN file, or with `model` (our exported .pb); None
    without OpenCV 4 (OpenCV 5 reads no .pb files)."""
    try:
        import cv2
    except ImportError:
        return None
    model = model or PEERS / f"FSRCNN_x{scale}.pb"
    if not model.exists() or not hasattr(cv2, "dnn_superres") or int(cv2.__version__.split(".")[0]) >= 5:
        return None
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(model))
    sr.setModel("fsrcnn", scale)
    return lambda rgb: sr.upsample(np.ascontiguousarray(rgb[..., ::-1]))


def exported_runners(scale: int, folder: Path, weights_dir=None) -> dict:
    """Our exported files (fsrcnn export) run whole-image, untiled, by other runtimes."""
    from fsrcnn.export import export

    runners = {}
    rgb_onnx = export(scale, "clean", "onnx-rgb", folder / f"x{scale}_rgb.onnx", weights_dir)
    import onnxruntime as ort

    session = ort.InferenceSession(str(rgb_onnx), providers=["CPUExecutionProvider"])
    runners["our RGB ONNX, ONNX Runtime (whole image)"] = lambda rgb: session.run(None, {"rgb": rgb})[0]
    try:
        import cv2
    except ImportError:
        return runners
    net = cv2.dnn.readNetFromONNX(str(rgb_onnx))

    def cv_dnn(rgb):
        net.setInput(rgb)
        return net.forward()

    runners[f"our RGB ONNX, cv2.dnn {cv2.__version__} (whole image)"] = cv_dnn
    ours = opencv_upsampler(scale, export(scale, "clean", "opencv", folder / f"x{scale}.pb", weights_dir))
    if ours:
        runners["our .pb, OpenCV dnn_superres"] = ours
    return runners


def methods_for(rgb: np.ndarray, scale: int, engines: dict, cv, exported: dict) -> dict:
    """The methods timed on one photo at one scale: our engines on the same tiles (OpenVINO,
    ONNX Runtime, XLA), OpenCV's FSRCNN and our exported files in other runtimes, when there."""
    pil, size = Image.fromarray(rgb), (rgb.shape[1] * scale, rgb.shape[0] * scale)
    default, others = engines["default"], {k: v for k, v in engines.items() if k != "default"}
    methods = {
        "PIL bicubic": lambda: pil.resize(size, Image.BICUBIC),
        "fsrcnn": lambda: default.upscale_array(rgb, scale),
        "fsrcnn + self-ensemble": lambda: default.upscale_array(rgb, scale, tta=True),
    }
    for name, up in others.items():
        methods[f"fsrcnn, {name} engine"] = lambda up=up: up.upscale_array(rgb, scale)
    if cv:
        methods["OpenCV dnn_superres FSRCNN"] = lambda: cv(rgb)
    for name, run in exported.items():
        methods[name] = lambda run=run: run(rgb)
    return methods


def speed(sizes, scales, repeat, weights_dir=None):
    import tempfile

    from fsrcnn.upscaler import ENGINES, Upscaler

    upscaler = Upscaler(scales, weights_dir=weights_dir)
    engines = {"default": upscaler} | {display: Upscaler(scales, weights_dir=weights_dir, engine=name)
                                       for name, display in ENGINES.items() if name != upscaler.engine}
    print(f"device: {upscaler.device_name}; median of {repeat} interleaved runs; "
          "MP/s = output megapixels per second\n")
    print("| input | scale | method | time (s) | MP/s | vs OpenCV FSRCNN | vs single pass |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            cv = opencv_upsampler(scale)
            exported = exported_runners(scale, Path(tmp), weights_dir)
            for size in sizes:
                times = median_times(methods_for(photo(size), scale, engines, cv, exported), repeat)
                for name, t in times.items():
                    mp = (size * scale) ** 2 / 1e6 / t
                    vs_cv = f"{t / times['OpenCV dnn_superres FSRCNN']:.2f}x" if cv else "n/a"
                    vs_single = f"{t / times['fsrcnn']:.2f}x"
                    print(f"| {size}x{size} | x{scale} | {name} | {t:.3f} | {mp:.1f} | {vs_cv} | {vs_single} |",
                          flush=True)


def memory():
    """Peak resident memory of a fresh process that upscales a 4000x3000 photo at x2, against its baseline.

    Read from VmHWM, which starts afresh at exec: ru_maxrss would also count this (large) parent
    process, whose peak a forked child inherits on Linux.
    """
    code = (
        "import os, sys; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; sys.path.insert(0, sys.argv[1]);"
        "import numpy as np; from fsrcnn.upscaler import Upscaler; sys.path.insert(0, sys.argv[2]);"
        "from speed import photo;"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]);"
        "up = Upscaler([2]); up.upscale_array(photo(64), 2);"
        "img = np.ascontiguousarray(np.tile(photo(1000), (3, 4, 1))); base = hwm();"
        "out = up.upscale_array(img, 2); assert out.shape == (6000, 8000, 3);"
        "print(f'{base / 2**20:.2f} {hwm() / 2**20:.2f}')"
    )
    result = subprocess.run([sys.executable, "-c", code, str(ROOT), str(Path(__file__).parent)],
                            capture_output=True, text=True, check=True)
    base, peak = map(float, result.stdout.split())
    print(f"\npeak memory, 4000x3000 RGB at x2 (tiled): {peak:.2f} GB resident "
          f"(the process held {base:.2f} GB before the image; input + output arrays alone are "
          f"{(4000 * 3000 * 3 * 5) / 2**30:.2f} GB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--weights-dir", help="default: the shipped weights/")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory for a 4000x3000 input")
    args = parser.parse_args()
    speed(args.sizes, args.scales, args.repeat, args.weights_dir)
    if args.memory:
        memory()


if __name__ == "__main__":
    main()
