"""The app's input checks: every setting and file a visitor or API client sends, refused clearly.

Forms and API clients send scales as 2, 2.0, "2" or "x2", models in any case, files as paths or
file objects. The checks that need only a file's header (`Checks.image`) take milliseconds, so
the app runs them on upload and before a request joins the queue; `Demo.start` runs them again,
plus those that need the pixels.
"""
from pathlib import Path

from .images import check_image
from .metrics import SSIM_WINDOW
from .models import Bank

UPSCALE, COMPARE = "upscale", "compare"
# Compare mode: what to do to the shrunk photo before rebuilding it, as a camera or a website would.
DEGRADATIONS = {"": "none", "jpeg90": "JPEG quality 90", "jpeg75": "JPEG quality 75",
                "jpeg50": "JPEG quality 50", "noise5": "Gaussian noise, σ = 5"}


class InputError(ValueError):
    """A request the demo cannot serve (no image, image too small); the message is for the visitor."""


class Checks:
    """The checks against one bank of weights and one pixel limit."""

    def __init__(self, bank: Bank, max_pixels: int | None):
        self.bank, self.max_pixels = bank, max_pixels

    def mode(self, mode) -> str:
        if mode not in (UPSCALE, COMPARE):
            raise InputError(f"unknown mode {mode!r}: use {UPSCALE} or {COMPARE}")
        return mode

    def scale(self, scale) -> int:
        """Accept 2, 2.0, "2" and "x2", refuse the rest clearly."""
        try:
            value = float(str(scale).strip().lower().removeprefix("x"))
        except ValueError:
            value = None
        if value not in self.bank.scales:
            raise InputError(f"scale must be one of {', '.join(f'x{s}' for s in self.bank.scales)}, got {scale!r}")
        return int(value)

    def model(self, model, scale: int | None = None) -> str:
        """auto, clean or photo; photo only where its weights are installed (for `scale`, when given)."""
        try:
            return self.bank.check_request(model, scale)
        except ValueError as e:
            raise InputError(str(e)) from None

    @staticmethod
    def degradation(spec) -> str:
        value = str(spec or "").strip().lower()
        if value in ("none", "0"):
            value = ""
        if value not in DEGRADATIONS:
            raise InputError(f"degradation must be one of {', '.join(k or 'none' for k in DEGRADATIONS)}, got {spec!r}")
        return value

    def image(self, mode: str, source, scale: int) -> tuple[int, int]:
        """Refuse at once what the file's header tells: no image, not an image, over the pixel limit,
        too small to measure (compare mode); (width, height) when it passes. Nothing is decoded."""
        source, name = self.source(source)
        w, h = check_image(source, max_pixels=self.max_pixels, name=name)
        if mode == COMPARE:
            measurable(name, w, h, scale)
        return w, h

    @staticmethod
    def source(source) -> tuple:
        """(path or file object, the visitor's name for it): messages name the file, not its temp path."""
        if source is None or (isinstance(source, str) and not source.strip()):
            raise InputError("No image yet: upload a photo or pick one of the examples, then press the button.")
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{path.name}: no such file")
            return path, path.name
        return source, Path(getattr(source, "name", "image")).name


def measurable(name: str, w: int, h: int, scale: int) -> None:
    """Compare mode needs, after cropping to multiples of the scale, room for SSIM's window and the border."""
    need = SSIM_WINDOW + 2 * scale
    if min(w - w % scale, h - h % scale) < need:
        raise InputError(f"{name}: {w}×{h} is too small to measure at x{scale}; "
                         f"compare mode needs at least {need}×{need} pixels")
