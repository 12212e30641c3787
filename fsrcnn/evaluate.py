"""Evaluation with the standard protocol: modcrop, MATLAB-bicubic LR, Y channel, border = scale.

FSRCNN numbers come from `Upscaler.upscale_array`, the very code path a user's photo takes
(rounded RGB output included), so the table measures what the tool delivers.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .images import list_images, read_rgb_or_gray
from .imresize import degrade, modcrop
from .metrics import psnr_ssim_y
from .upscaler import Upscaler, bicubic_array


@dataclass
class Row:
    method: str
    psnr: float
    ssim: float


def evaluate_folder(upscaler: Upscaler, folder: str | Path, scale: int, tta: bool = False) -> list[Row]:
    methods = ["bicubic", "FSRCNN"] + (["FSRCNN + self-ensemble"] if tta else [])
    scores = {m: [] for m in methods}
    for path in list_images(folder):
        hr = modcrop(read_rgb_or_gray(path), scale)
        lr = degrade(hr, scale)
        outputs = {"bicubic": bicubic_array(lr, scale), "FSRCNN": upscaler.upscale_array(lr, scale)}
        if tta:
            outputs["FSRCNN + self-ensemble"] = upscaler.upscale_array(lr, scale, tta=True)
        for m in methods:
            scores[m].append(psnr_ssim_y(hr, outputs[m], border=scale))
    return [Row(m, *np.mean(scores[m], axis=0)) for m in methods]


def format_table(name: str, scale: int, rows: list[Row], images: int) -> str:
    base = rows[0].psnr
    lines = [
        f"{name} x{scale} ({images} images, Y channel, border {scale})",
        "| method | PSNR (dB) | SSIM | gain over bicubic (dB) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        gain = "" if r.method == "bicubic" else f"{r.psnr - base:+.2f}"
        lines.append(f"| {r.method} | {r.psnr:.2f} | {r.ssim:.4f} | {gain} |")
    return "\n".join(lines)
