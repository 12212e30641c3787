"""The result file: its format (PNG, WebP, JPEG), its quality, and its size.

One pure step shared by the command line, the app and the API: `write(image, target, options)`
takes an upscaled image and an `Options`, resizes it when a target size was asked for, encodes it
and renames it into place (an interrupted write leaves no half-written file). Any module that
upscales (a pipeline on other workers, say) calls it with the same options.

- PNG (the default): lossless, through png.py (parallel zlib; the ICC profile kept).
- WebP: lossless unless a quality is given (then lossy, of that quality); alpha and ICC kept.
- JPEG: of a quality (default JPEG_QUALITY); ICC kept; it has no alpha, so a transparent image is
  refused with a message rather than flattened.

A target size (`width` and/or `height`; one alone keeps the aspect ratio) is reached by the
nearest FSRCNN scale at or above it (`scale_for`) and then a downscale by Pillow's LANCZOS filter
(antialiased: its kernel widens with the reduction) with reducing_gap, which first shrinks by a
whole factor with a box filter when the reduction is large: the same result to the eye, faster.
Alpha is resized premultiplied (Pillow does that for RGBA and LA), so no dark fringes.
"""
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import png

FORMATS = {"png": "PNG", "webp": "WebP", "jpeg": "JPEG"}  # name -> display name
SUFFIXES = {"png": ".png", "webp": ".webp", "jpeg": ".jpg"}
JPEG_QUALITY = 90
# zlib level of the PNGs (png.py): 1 writes several times faster than 6, the usual default, for
# files about a tenth larger (benchmarks/png.py measures every level); every level is lossless.
DEFAULT_PNG_COMPRESSION = 1
WEBP_LIMIT = 16383  # pixels per side the WebP format holds
JPEG_LIMIT = 65535
REDUCING_GAP = 3.0  # box-reduce first only where the downscale is over 3x (Pillow's advice: 2 or 3)


@dataclass(frozen=True)
class Options:
    """How to write a result. quality: JPEG's (1..100, default JPEG_QUALITY), or WebP's for a lossy
    WebP (None: lossless); not for PNG. width/height: the size wanted (see the module's doc)."""

    format: str = "png"
    quality: int | None = None
    png_compression: int = DEFAULT_PNG_COMPRESSION
    width: int | None = None
    height: int | None = None

    def __post_init__(self):
        fmt = str(self.format or "png").strip().lower().removeprefix(".")
        fmt = {"jpg": "jpeg"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        object.__setattr__(self, "format", fmt)
        if self.quality is not None:
            if fmt == "png":
                raise ValueError("PNG is lossless: a quality applies to webp and jpeg only")
            if not 1 <= int(self.quality) <= 100:
                raise ValueError(f"quality must be 1 to 100, got {self.quality}")
            object.__setattr__(self, "quality", int(self.quality))
        for side in ("width", "height"):
            value = getattr(self, side)
            if value is not None and int(value) < 1:
                raise ValueError(f"{side} must be at least 1 pixel, got {value}")

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.format]

    @property
    def lossless(self) -> bool:
        return self.format == "png" or (self.format == "webp" and self.quality is None)

    @property
    def name(self) -> str:
        """E.g. 'PNG', 'WebP (lossless)', 'JPEG (quality 90)'."""
        if self.format == "png":
            return "PNG"
        if self.lossless:
            return "WebP (lossless)"
        return f"{FORMATS[self.format]} (quality {self.quality or JPEG_QUALITY})"

    @property
    def resizes(self) -> bool:
        return self.width is not None or self.height is not None

    def size_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The result's size for an input of `size` (w, h): the target, or one side and the aspect."""
        w, h = size
        if self.width and self.height:
            return int(self.width), int(self.height)
        if self.width:
            return int(self.width), max(1, round(h * self.width / w))
        if self.height:
            return max(1, round(w * self.height / h)), int(self.height)
        return size

    def scale_for(self, size: tuple[int, int], scales, scale: int | None = None) -> int:
        """The FSRCNN scale to run for an input of `size`: `scale` when no target size is set, else the
        smallest of `scales` that reaches the target on both sides (a clear error if none does)."""
        if not self.resizes:
            if scale is None:
                raise ValueError("give a scale, or a width or height to reach")
            return scale
        tw, th = self.size_for(size)
        w, h = size
        for s in sorted(scales):
            if w * s >= tw and h * s >= th:
                return s
        top = max(scales)
        raise ValueError(f"{tw}×{th} is more than x{top} of {w}×{h} ({w * top}×{h * top} at most)")

    def check_mode(self, mode: str, size: tuple[int, int] | None = None) -> None:
        """Refuse, before any work, what this format cannot hold: alpha in JPEG, WebP over 16383 pixels."""
        if self.format == "jpeg" and mode in ("LA", "RGBA"):
            raise ValueError("JPEG has no transparency and this image has some: choose png or webp to keep it")
        if size is not None:
            limit = WEBP_LIMIT if self.format == "webp" else JPEG_LIMIT if self.format == "jpeg" else None
            if limit and max(size) > limit:
                raise ValueError(f"{FORMATS[self.format]} holds at most {limit} pixels a side and the result is "
                                 f"{size[0]}×{size[1]}: choose png or a smaller size")


PNG = Options()


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A downscale (or a small upscale) to `size` with the filter the module's doc names."""
    if image.size == tuple(size):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def write(image, target: str | Path, options: Options | None = None, mode: str | None = None,
          icc: bytes | None = None) -> tuple[int, int]:
    """`image` as `target` in `options`'s format and size, through a temporary file renamed into place;
    returns the size written.

    `image`: a PIL image (mode L, LA, RGB or RGBA, its ICC profile in .info), or uint8 pixels of
    `mode` ((H, W) or (H, W, C) as PIL lays it out) and their `icc`: a PNG at the upscaled size is
    then written straight from the array (no PIL copy of a large result)."""
    target, options = Path(target), options or PNG
    if isinstance(image, Image.Image):
        mode, icc, pixels = image.mode, image.info.get("icc_profile"), None
    else:
        pixels = np.asarray(image)
        if mode is None:
            raise ValueError("pixels need their mode (L, LA, RGB or RGBA)")
    size = options.size_for((pixels.shape[1], pixels.shape[0]) if pixels is not None else image.size)
    options.check_mode(mode, size)
    if pixels is not None and (options.format != "png" or size != (pixels.shape[1], pixels.shape[0])):
        image, pixels = Image.fromarray(np.ascontiguousarray(pixels)), None  # mode follows from the shape
    if image is not None and pixels is None:
        image = resize(image, size)
    partial = target.with_name(f".{target.name}.part")
    try:
        if options.format == "png":
            png.write_pixels(np.asarray(image) if pixels is None else pixels, mode, partial, icc,
                             options.png_compression)
        elif options.format == "webp":
            webp_mode = {"L": "RGB", "LA": "RGBA"}.get(mode, mode)  # WebP has no gray
            settings = ({"quality": options.quality, "method": 4} if options.quality
                        else {"lossless": True, "quality": 100, "method": 0, "exact": True})
            image.convert(webp_mode).save(partial, "WEBP", icc_profile=icc, **settings)
        else:
            quality = options.quality or JPEG_QUALITY
            image.save(partial, "JPEG", quality=quality, icc_profile=icc,
                       subsampling="4:2:0" if quality < 90 else "4:4:4")  # chroma kept whole at high quality
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return size
