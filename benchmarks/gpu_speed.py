"""Speed on a GPU against the CPU engine, in one run: the rows benchmarks/gpu_check.sh prints.

    python benchmarks/gpu_speed.py [--sizes 512 2048] [--scales 2 3 4] [--repeat 3] [--budget 240]

Per input size (square photo-like RGB), scale and with/without the self-ensemble: the CPU engine
(OpenVINO) and each GPU engine there is (XLA when TensorFlow sees a GPU; ONNX Runtime when its CUDA
provider is installed), median wall time and the ratio to the CPU engine. Every method is warmed
up on the same input first (compilation). Rows that would start after --budget seconds are
skipped and say so, so the script ends in time. Without a GPU it times the CPU engines only
(a dry run).
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import median_times, photo  # noqa: E402

from fsrcnn import engines  # noqa: E402
from fsrcnn.upscaler import Upscaler, _tensorflow_gpus  # noqa: E402


def upscalers(scales) -> dict:
    found = {"CPU, OpenVINO (baseline)": Upscaler(scales, device="cpu", engine="openvino")}
    if _tensorflow_gpus():
        found["GPU, XLA"] = Upscaler(scales, device="gpu", engine="xla")
        if engines.installed("onnxruntime"):
            import onnxruntime

            if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
                found["GPU, ONNX Runtime (CUDA)"] = Upscaler(scales, device="gpu", engine="onnxruntime")
            else:
                print("ONNX Runtime has no CUDA provider here (onnxruntime-gpu is not installed): no row for it")
    else:
        print("TensorFlow sees no GPU: a dry run, CPU engines only")
        found["CPU, ONNX Runtime"] = Upscaler(scales, device="cpu", engine="onnxruntime")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=240.0, help="seconds; later rows are skipped")
    args = parser.parse_args()
    start = time.perf_counter()
    methods = upscalers(args.scales)
    print(f"median of {args.repeat} after a warm-up; MP/s = output megapixels per second\n")
    print("| input | scale | self-ensemble | method | time (s) | MP/s | vs CPU engine |\n|---|---|---|---|---|---|---|")
    for size in args.sizes:
        rgb = photo(size)
        for scale in args.scales:
            for tta in (False, True):
                baseline = None
                for name, up in methods.items():
                    row = f"| {size}x{size} | x{scale} | {'yes' if tta else 'no'} | {name} |"
                    if time.perf_counter() - start > args.budget:
                        print(f"{row} skipped (time budget) | | |", flush=True)
                        continue
                    t = median_times({"run": lambda up=up, rgb=rgb, s=scale, e=tta: up.upscale_array(rgb, s, tta=e)},
                                     args.repeat)["run"]
                    baseline = baseline or t
                    mp = (size * scale) ** 2 / 1e6 / t
                    print(f"{row} {t:.3f} | {mp:.1f} | {t / baseline:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
