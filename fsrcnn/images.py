"""Reading images into the four modes the upscaler works in (L, LA, RGB, RGBA), with clear errors.

Everything that is not plain 8-bit gray or RGB is converted the way a user would expect:
EXIF orientation applied, palette images to RGB (RGBA when they have transparency), CMYK and
other colour spaces to RGB, 16-bit and 32-bit gray to 8-bit gray, animations to their first frame.
"""
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".avif")
MODES = ("L", "LA", "RGB", "RGBA")
# The formats Pillow may try (JPEG includes the MPO variant of some cameras). Photos come in these;
# leaving out the rest keeps a public server away from rarely used decoders, and from EPS, which
# Pillow hands to Ghostscript.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "PPM")
FORMAT_NAMES = ("PNG", "JPEG", "WebP", "GIF", "BMP", "TIFF", "AVIF")
# File signatures, to tell a damaged image from something that is not an image at all.
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
              (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


Image.init()  # register every plugin now: Image.open(formats=...) only finds those already registered


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
    try:
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # a damaged EXIF block should not cost the picture
        orientation = 1
        notes.append("its EXIF data is damaged and was ignored")
    if orientation in (2, 3, 4, 5, 6, 7, 8):  # 1 is upright; other values mean nothing
        im = ImageOps.exif_transpose(im)
        notes.append("turned upright as its EXIF orientation says")
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
        # I;16 modes are 16-bit whatever the values (a dark 16-bit photo has small ones); plain I
        # (32-bit) is 16-bit data in practice when it exceeds 8 bits; F is taken as 0..1 when it fits.
        if mode.startswith("I;16") or (mode == "I" and arr.max(initial=0) > 255):
            arr = arr / 257.0  # 0..65535 onto 0..255
            notes.append("16-bit image: converted to 8 bits per channel")
        elif mode == "F" and arr.size and 0 <= arr.min() and arr.max() <= 1:
            arr = arr * 255.0
            notes.append("floating-point image: converted to 8 bits per channel")
        out = Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), "L")
    else:  # CMYK, YCbCr, LAB, HSV, ...
        out = im.convert("RGB")
        notes.append(f"{mode} image: converted to RGB")
        icc = None  # a CMYK/Lab profile does not describe the RGB result
    return Loaded(out, icc, notes)


def _stored_16_bit(im: Image.Image) -> bool:
    """Pillow decodes 16-bit RGB(A) files to 8 bits per channel; the raw mode of an undecoded file
    (e.g. RGB;16B) tells."""
    return any(";16" in str(tile.args) for tile in getattr(im, "tile", None) or [])


def _source_name(source) -> str:
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "image")


def _pixel_limit(max_pixels: int | None) -> tuple[int | None, str]:
    """The tighter of the caller's limit and Pillow's decompression-bomb guard, and how to name it."""
    guard = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and (guard is None or max_pixels <= guard):
        return max_pixels, ""
    return guard, " (Pillow's guard against decompression bombs)"


def _too_big(name: str, pixels: int, limit: int, why: str, size: tuple[int, int] | None = None) -> ImageError:
    what = f"{size[0]}x{size[1]}" if size else "its header claims it"
    if limit >= 100_000:  # in megapixels, as photos are described
        amount = f"{pixels / 1e6:.1f} megapixels, over the limit of {limit / 1e6:.1f}"
    else:  # a small limit set on purpose (e.g. --max-pixels in a test) reads better in pixels
        amount = f"{pixels} pixels, over the limit of {limit}"
    return ImageError(f"{name}: {what} is {amount}{why}: shrink or crop it first")


def _head(source, n: int = 16) -> bytes | None:
    """The first bytes of a path or file object (None when they cannot be read), to explain failures."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as f:
                return f.read(n)
        source.seek(0)
        return source.read(n)
    except (OSError, AttributeError, ValueError):
        return None


def _unreadable(name: str, source) -> ImageError:
    """Why Pillow could not identify a file: empty, a known format with a broken header, or not an image."""
    head = _head(source)
    if head == b"":
        return ImageError(f"{name}: the file is empty (0 bytes)")
    if head is not None:
        if head[4:12] in (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1"):
            return ImageError(f"{name}: HEIC/HEIF photos cannot be read here: convert it to JPEG or PNG first")
        fmt = next((fmt for signature, fmt in SIGNATURES if head.startswith(signature)), None)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            fmt = "WebP"
        if fmt:
            return ImageError(f"{name}: damaged {fmt} file: its header cannot be read")
    return ImageError(f"{name}: not an image file, or a format that cannot be read "
                      f"(use {', '.join(FORMAT_NAMES)})")


@contextmanager
def _reading(source, max_pixels: int | None, name: str | None = None) -> Iterator[Image.Image]:
    """Image.open with the size checked from the header, before any pixel is decoded.

    Every failure, in opening or in whatever the caller then does with the image (decoding),
    becomes an ImageError that names the file and says what is wrong with it.
    """
    name = name or _source_name(source)
    try:
        with Image.open(source, formats=FORMATS) as im:
            w, h = im.size
            limit, why = _pixel_limit(max_pixels)
            # Pillow only warns between 1x and 2x MAX_IMAGE_PIXELS (and raises above); refusing here
            # makes the warning range an error too. (warnings.catch_warnings would do it, but it
            # changes process-wide state, which is not thread-safe under a multi-threaded server.)
            if limit is not None and w * h > limit:
                raise _too_big(name, w * h, limit, why, (w, h))
            yield im
    except ImageError:
        raise
    except MemoryError:
        raise  # not the file's fault: callers say so in their own words
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Raised by Image.open above 2x the guard (or in the warning range when warnings are errors).
        found = re.search(r"\((\d+) pixels\)", str(e))
        limit, why = _pixel_limit(max_pixels)
        if found and limit is not None:
            raise _too_big(name, int(found.group(1)), limit, why) from e
        raise ImageError(f"{name}: refused, the image claims to be enormous ({e})") from e
    except UnidentifiedImageError as e:
        raise _unreadable(name, source) from e
    except FileNotFoundError as e:
        raise ImageError(f"{name}: no such file") from e
    except IsADirectoryError as e:
        raise ImageError(f"{name}: a folder, not an image file") from e
    except Exception as e:  # Pillow's decoders raise many types on malformed data (OSError, SyntaxError, ...)
        raise ImageError(f"{name}: damaged or truncated image ({str(e) or type(e).__name__})") from e


def check_image(source, max_pixels: int | None = None, name: str | None = None) -> tuple[int, int]:
    """(width, height) from the header only: refuses what is not an image or too large, in milliseconds.

    Nothing is decoded, so a file that passes may still turn out damaged in `open_image`.
    """
    with _reading(source, max_pixels, name) as im:
        return im.size


def open_image(source, max_pixels: int | None = None, name: str | None = None) -> Loaded:
    """Open a path or file object and normalise it; ImageError with a specific reason otherwise.

    Messages start with `name` (default: the path, or the file object's name).
    """
    with _reading(source, max_pixels, name) as im:
        deep = _stored_16_bit(im)  # known only before decoding
        im.load()
        loaded = normalise(im)
    if deep and im.mode in MODES:  # Pillow already made 8-bit RGB(A) of it; say so
        loaded.notes.append("16-bit image: converted to 8 bits per channel")
    return loaded


def read_rgb_or_gray(path: str | Path) -> np.ndarray:
    """uint8 (H, W) for gray files, (H, W, 3) RGB otherwise; alpha dropped (for data sets)."""
    im = open_image(path).image
    return np.asarray(im.convert("L") if im.mode in ("L", "LA") else im.convert("RGB"))


def image_to_array(im: Image.Image) -> np.ndarray:
    """A normalised image (mode L, LA, RGB or RGBA) as the uint8 array the upscaler takes:
    (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA. Gray + alpha rides the RGBA path with three
    equal colour channels."""
    arr = np.asarray(im)
    if im.mode == "LA":
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=-1), arr[..., 1:]], axis=-1)
    return arr


def array_in_mode(arr: np.ndarray, mode: str) -> np.ndarray:
    """An image_to_array array as the pixels of `mode` (LA: the gray and alpha planes only)."""
    return np.stack([arr[..., 0], arr[..., 3]], axis=-1) if mode == "LA" else arr


def array_to_image(arr: np.ndarray, mode: str, icc: bytes | None = None) -> Image.Image:
    """Inverse of image_to_array for an image of `mode`, with its ICC profile attached."""
    out = Image.fromarray(np.ascontiguousarray(array_in_mode(arr, mode)))  # mode follows from the shape
    if icc:
        out.info["icc_profile"] = icc
    return out
