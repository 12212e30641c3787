"""Reading images into the four modes the upscaler works in (L, LA, RGB, RGBA), with clear errors.

Everything that is not plain 8-bit gray or RGB is converted the way a user would expect:
EXIF orientation applied, palette images to RGB (RGBA when they have transparency), CMYK and
other colour spaces to RGB, 16-bit and 32-bit gray to 8-bit gray, animations to their first frame.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
MODES = ("L", "LA", "RGB", "RGBA")


class ImageError(ValueError):
    """An input that cannot be used as an image; the message says which file and why."""


@dataclass
class Loaded:
    """An image ready for upscaling, with what was done to it on the way in."""

    image: Image.Image  # mode L, LA, RGB or RGBA
    icc_profile: bytes | None = None
    notes: list[str] = field(default_factory=list)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside `folder`, sorted; clear errors for a missing or empty folder."""
    folder = Path(folder)
    if not folder.exists():
        raise ImageError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ImageError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(f"{folder}: no images (looked for {', '.join(IMAGE_SUFFIXES)})")
    return files


def normalise(im: Image.Image) -> Loaded:
    """Convert an opened PIL image (already decoded) to one of MODES, noting what changed."""
    notes = []
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)
        notes.append(f"animated image with {im.n_frames} frames: only the first frame is used")
    icc = im.info.get("icc_profile")
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in MODES:
        out = im.copy()
    elif mode == "1":
        out = im.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        out = im.convert("RGBA" if has_alpha else "RGB")
    elif mode.startswith("I") or mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        if mode != "F" and arr.max(initial=0) > 255:  # 16-bit data: map 0..65535 onto 0..255
            arr = arr / 257.0
            notes.append("16-bit image: converted to 8 bits per channel")
        out = Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), "L")
    else:  # CMYK, YCbCr, LAB, HSV, ...
        out = im.convert("RGB")
        notes.append(f"{mode} image: converted to RGB")
        icc = None  # a CMYK/Lab profile does not describe the RGB result
    return Loaded(out, icc, notes)


def open_image(source, max_pixels: int | None = None) -> Loaded:
    """Open a path or file object and normalise it; ImageError with a specific reason otherwise."""
    name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "image")
    try:
        with Image.open(source) as im:
            w, h = im.size
            if max_pixels is not None and w * h > max_pixels:
                raise ImageError(f"{name}: {w}x{h} is {w * h / 1e6:.1f} megapixels, over the limit of {max_pixels / 1e6:.1f}: shrink or crop it first")
            im.load()
            return normalise(im)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(f"{name}: refused, the image claims to be enormous ({e})") from e
    except UnidentifiedImageError as e:
        raise ImageError(f"{name}: not an image file, or a format that cannot be read") from e
    except FileNotFoundError as e:
        raise ImageError(f"{name}: no such file") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name}: damaged or truncated image ({e})") from e


def read_rgb_or_gray(path: str | Path) -> np.ndarray:
    """uint8 (H, W) for gray files, (H, W, 3) RGB otherwise; alpha dropped (for data sets)."""
    im = open_image(path).image
    return np.asarray(im.convert("L") if im.mode in ("L", "LA") else im.convert("RGB"))
