"""The app's words about a result: the report beside it and the caption of each crop (Markdown)."""
from pathlib import Path

from .checks import COMPARE, DEGRADATIONS
from .jobs import BICUBIC, Job


def report(job: Job, outcome=None, device: str = "") -> str:
    """Markdown summary: sizes, device, model and why, and per method its time (and PSNR/SSIM).

    `outcome`: demo.Outcome once the full result is written."""
    (iw, ih), (ow, oh) = job.lr_size, job.out_size
    on = f" on {device}" if device else ""
    if job.mode == COMPARE:
        shrunk = f"shrunk to {iw}×{ih} (MATLAB bicubic)"
        if job.degradation:
            shrunk += f", degraded ({DEGRADATIONS[job.degradation]})"
        lines = [f"**Compare at x{job.scale}**{on}: the {ow}×{oh} original of *{job.name}* was {shrunk} "
                 f"and rebuilt to {ow}×{oh}."]
        if job.evidence:
            lines += ["", f"Your file: {job.evidence}."]
        lines += ["", f"Model for the shrunk copy: {job.choice.reason}."]
    else:
        lines = [f"**Upscaled x{job.scale}**{on}: *{job.name}*, {iw}×{ih} → {ow}×{oh} pixels.",
                 "", f"Model: {job.choice.reason}."]
    if outcome is None:
        lines += ["", f"Detail ready; the full {ow}×{oh} result is being computed…"]
    elif job.mode == COMPARE:
        lines += ["", f"PSNR and SSIM of the whole image on the luma (Y) channel, {job.scale}-pixel border ignored; "
                      "higher is better. Time: each method on the whole image, colour and rounding included "
                      "(bicubic is plain numpy on one core; FSRCNN runs compiled on every core).",
                  "", "| Method | PSNR (dB) | SSIM | Time |", "|---|---|---|---|"]
        base = outcome.scores.get(BICUBIC)
        for key, (psnr, ssim) in outcome.scores.items():
            gain = "" if key == BICUBIC or base is None else f" ({psnr - base[0]:+.2f})"
            lines.append(f"| {job.title(key)} | {psnr:.2f}{gain} | {ssim:.4f} | {seconds(outcome.seconds[key])} |")
        lines += ["", f"Download: {job.title(job.best)}, {ow}×{oh} {outcome.format_name} ({megabytes(outcome.path)})."]
    else:
        size = outcome.size
        resized = f", resized to {size[0]}×{size[1]}" if size != job.out_size else ""
        lines += ["", f"Full result: {job.title(job.best)} in {seconds(outcome.seconds[job.best])}{resized}, "
                      f"{outcome.format_name} written in {seconds(outcome.write_seconds)} ({megabytes(outcome.path)})."]
    lines += [""] + [f"Note: {n}." for n in job.notes]
    return "\n".join(lines).strip()


def caption(job: Job, key: str, outcome=None) -> str:
    """A crop's label: the method, and in compare mode its score once the whole image is measured."""
    title = job.title(key)
    if outcome is not None and key in outcome.scores:
        psnr, ssim = outcome.scores[key]
        return f"{title}: {psnr:.2f} dB, SSIM {ssim:.3f}"
    return title


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"
