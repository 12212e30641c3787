"""Evaluation with the standard protocol: modcrop, MATLAB-bicubic LR, Y channel, border = scale.

FSRCNN numbers come from `Upscaler.upscale_array`, the very code path a user's photo takes
(rounded RGB output included), so the table measures what the tool delivers.

With a degradation (`degrade="jpeg75"`, see degradations.parse_spec) each LR image is then
degraded as a camera or the web would, seeded by its index, and turned into the file a user
would have (a real JPEG, or a PNG for noise), which is decoded like any upload; "auto" reads
that file to choose its weights (quality.choose), exactly as the command line and the app do.
"""
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .degradations import encode_spec
from .images import list_images, open_image, read_rgb_or_gray
from .imresize import degrade, modcrop
from .metrics import psnr_ssim_y
from .quality import AUTO, choose
from .upscaler import Upscaler, bicubic_array
from .weights import sha256

ENSEMBLE = " + self-ensemble"


@dataclass
class Row:
    method: str
    psnr: float
    ssim: float
    note: str = ""


def degraded_input(lr: np.ndarray, spec: str, seed: int) -> tuple[np.ndarray, io.BytesIO | None]:
    """The LR image as a user's file would hold it after `spec`, decoded, and that file."""
    if not spec:
        return lr, None
    data, suffix = encode_spec(lr, spec, seed)
    file = io.BytesIO(data)
    file.name = f"degraded{suffix}"
    pixels = np.asarray(open_image(file).image)
    file.seek(0)
    return pixels, file


def evaluate_folder(upscaler: Upscaler, folder: str | Path, scale: int, tta: bool = False, degrade_spec: str = "",
                    models=("clean",)) -> list[Row]:
    """Mean PSNR/SSIM per method over a folder: bicubic, then FSRCNN with each of `models`
    (weight files "clean", "photo", "light", or "auto"), each also with the self-ensemble when `tta`.

    With the clean model alone the rows are named "FSRCNN" and "FSRCNN + self-ensemble".
    """
    ensembles = (False, True) if tta else (False,)
    label = (lambda m: "FSRCNN") if tuple(models) == ("clean",) else (lambda m: f"FSRCNN {m}")
    methods = [(label(m) + (ENSEMBLE if e else ""), m, e) for m in models for e in ensembles]
    installed = upscaler.bank.installed(scale)
    scores = {"bicubic": []} | {name: [] for name, _, _ in methods}
    picked = dict.fromkeys(installed, 0)
    for i, path in enumerate(list_images(folder)):
        hr = modcrop(read_rgb_or_gray(path), scale)
        lr, file = degraded_input(degrade(hr, scale), degrade_spec, seed=i)
        run = [m for m in models if m != AUTO]
        if AUTO in models:
            chosen = choose(file, lr, AUTO, installed).model
            picked[chosen] += 1
            run.append(chosen)
        outputs = {(m, e): upscaler.upscale_array(lr, scale, tta=e, model=m) for m in dict.fromkeys(run)
                   for e in ensembles}
        if AUTO in models:
            outputs |= {(AUTO, e): outputs[(chosen, e)] for e in ensembles}
        scores["bicubic"].append(psnr_ssim_y(hr, bicubic_array(lr, scale), border=scale))
        for name, m, e in methods:
            scores[name].append(psnr_ssim_y(hr, outputs[(m, e)], border=scale))
    note = "chose " + ", ".join(f"{m} {n}" for m, n in picked.items())
    return [Row(name, *np.mean(values, axis=0), note if name.startswith("FSRCNN auto") else "")
            for name, values in scores.items()]


@dataclass
class Table:
    set: str
    scale: int
    degrade: str
    images: int
    rows: list[Row]


def write_record(path: str | Path, command: str, upscaler: Upscaler, tables: list[Table]) -> None:
    """What evaluate printed, as JSON: the command, the weight files (by SHA-256) and every table."""
    record = {
        "command": command,
        "device": upscaler.device_name,
        "weights": {Path(p).name: sha256(p) for p in upscaler.bank.paths.values() if Path(p).exists()},
        "tables": [asdict(t) for t in tables],
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


def format_table(name: str, scale: int, rows: list[Row], images: int, degrade_spec: str = "") -> str:
    base = rows[0].psnr
    after = f", then {degrade_spec}" if degrade_spec else ""
    lines = [
        f"{name} x{scale} ({images} images{after}, Y channel, border {scale})",
        "| method | PSNR (dB) | SSIM | gain over bicubic (dB) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        gain = "" if r.method == "bicubic" else f"{r.psnr - base:+.2f}"
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {r.method}{note} | {r.psnr:.2f} | {r.ssim:.4f} | {gain} |")
    return "\n".join(lines)
