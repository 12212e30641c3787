"""Quality of the exported files where other stacks run them: luma PSNR through OpenCV's
dnn_superres (our .pb beside OpenCV's own FSRCNN files), ONNX Runtime (our RGB-in, RGB-out
ONNX), and `python -m fsrcnn evaluate`'s number for the same weights, on Set5 and Set14.

    python benchmarks/exported.py [--scales 2 3 4] [--sets Set5 Set14] [--model clean]

The standard protocol as `fsrcnn evaluate` runs it (modcrop, MATLAB-bicubic LR, PSNR on Y, border
= scale), every method measured on the same LR images. The files are exported into a temporary
folder first. dnn_superres rounds the luma it feeds the network when the image is uint8 (not
when it is float32, 0..255), rounds the network's luma to uint8 before converting back to BGR,
and enlarges Cb and Cr bilinearly (fsrcnn/export/opencv.py): the "vs evaluate" column shows what
that costs. OpenCV's
rows need opencv-contrib-python-headless<5 (benchmarks/requirements.txt) and ../shared/peers/opencv/.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from fsrcnn.export import export  # noqa: E402
from fsrcnn.images import list_images, read_rgb_or_gray  # noqa: E402
from fsrcnn.imresize import degrade, modcrop  # noqa: E402
from fsrcnn.metrics import psnr_ssim_y  # noqa: E402
from fsrcnn.upscaler import Upscaler, bicubic_array  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PEERS = ROOT.parent / "shared" / "peers" / "opencv"


def dnn_superres(model: Path, scale: int, dtype=np.uint8):
    """upsample() of a dnn_superres FSRCNN on an RGB or gray uint8 array, as a user calls it (BGR),
    passed as `dtype`: for float32 (0..255) OpenCV computes Y without rounding it first."""
    import cv2

    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(model))
    sr.setModel("fsrcnn", scale)

    def run(img):
        bgr = img if img.ndim == 2 else img[..., ::-1]
        out = sr.upsample(np.ascontiguousarray(bgr, dtype))
        return out if img.ndim == 2 else out[..., ::-1]

    return run


def onnx_rgb(model: Path):
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])

    def run(img):
        rgb = np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img
        out = session.run(None, {"rgb": np.ascontiguousarray(rgb)})[0]
        return out[..., 0] if img.ndim == 2 else out  # a gray image's R = G = B: its gray

    return run


def methods(scale: int, model: str, folder: Path, upscaler: Upscaler) -> dict:
    found = {"bicubic": lambda lr: bicubic_array(lr, scale),
             "fsrcnn evaluate (Upscaler)": lambda lr: upscaler.upscale_array(lr, scale, model=model)}
    onnx = export(scale, model, "onnx-rgb", folder / f"x{scale}_rgb.onnx")
    found["our ONNX (RGB in/out), ONNX Runtime"] = onnx_rgb(onnx)
    try:
        import cv2
    except ImportError:
        print("OpenCV is not installed: pip install -r benchmarks/requirements.txt (no dnn_superres rows)")
        return found
    if int(cv2.__version__.split(".")[0]) >= 5:
        print(f"OpenCV {cv2.__version__} reads no .pb files: no dnn_superres rows (install opencv-contrib-python-"
              "headless<5)")
        return found
    ours = export(scale, model, "opencv", folder / f"x{scale}.pb")
    found["our .pb, OpenCV dnn_superres"] = dnn_superres(ours, scale)
    found["our .pb, OpenCV dnn_superres, float32 input"] = dnn_superres(ours, scale, np.float32)
    peer = PEERS / f"FSRCNN_x{scale}.pb"
    if peer.exists():
        found[f"OpenCV's FSRCNN_x{scale}.pb, dnn_superres"] = dnn_superres(peer, scale)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4], choices=(2, 3, 4))
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    parser.add_argument("--model", default="clean", choices=("clean", "photo", "light"))
    args = parser.parse_args()
    upscaler = Upscaler(args.scales)
    print("| set | scale | method | PSNR (dB) | vs evaluate (dB) |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            runs = methods(scale, args.model, Path(tmp), upscaler)
            for name in args.sets:
                paths = list_images(DATA / name)
                scores = {m: [] for m in runs}
                for path in paths:
                    hr = modcrop(read_rgb_or_gray(path), scale)
                    lr = degrade(hr, scale)
                    for m, run in runs.items():
                        scores[m].append(psnr_ssim_y(hr, run(lr), border=scale)[0])
                base = np.mean(scores["fsrcnn evaluate (Upscaler)"])
                for m, values in scores.items():
                    print(f"| {name} | x{scale} | {m} | {np.mean(values):.2f} | {np.mean(values) - base:+.3f} |",
                          flush=True)


if __name__ == "__main__":
    main()
