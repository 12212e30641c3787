"""Which weights suit one image: evidence of JPEG compression or noise in the file itself.

The clean weights are best on clean images and sharpen whatever else they find; the photo
weights remove JPEG blocks and noise at a small cost in sharpness. "auto" decides per image:

- A JPEG file carries its quantization tables. libjpeg (Pillow, browsers, most cameras) makes
  them by scaling the example tables of the JPEG standard (Annex K) by a quality factor, so the
  nearest scaled table gives the quality the file was saved at.
- A lossless file (PNG, WebP lossless, TIFF, BMP) may still hold a decoded JPEG (a screenshot or
  a re-saved photo): its 8x8 blocks' DCT coefficients still sit on the multiples of the
  quantization steps, which also give its quality (jpeg_trace.py). Sharp edges on an 8-pixel
  grid (pixel art, comic panels, user interfaces) are no such evidence. And it may be noisy: a
  fast estimate of the noise level (Immerkaer 1996) on smooth areas tells.

Three weight files per scale can serve: clean; photo, for heavy JPEG compression and noise; and
light photo, for JPEGs saved at high quality, whose faint blocks the clean weights sharpen and
the photo weights smooth away with the texture. "photo" asks for the photo weights that suit the
file (light or not, by its JPEG quality). The quality bands are set where one file starts to beat
the other on the validation photos (weights/README.md gives the measurement); `choose` returns the
weight file to run and a reason the user can read.
"""
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from . import models
from .color import rgb_to_ycbcr
from .jpeg_trace import find_trace, fit_quality

CLEAN, PHOTO, LIGHT, AUTO = models.CLEAN.name, models.PHOTO.name, models.LIGHT.name, models.AUTO
MODELS = models.REQUESTS  # what a user can ask for
WEIGHTS = tuple(models.VARIANTS)  # the weight files a choice can run
PHOTO_WEIGHTS = models.PHOTO_VARIANTS  # the ones "photo" may mean
NAMES = {name: v.display for name, v in models.VARIANTS.items()}

# The bands auto gives each variant live in the registry (models.py); their edges, by name:
LIGHT_FROM_QUALITY = models.LIGHT.jpeg[0]
CLEAN_FROM_QUALITY = models.CLEAN.jpeg[0]
PHOTO_BELOW_QUALITY = models.LIGHT.jpeg_split  # without the light weights: photo below, clean from it
# Lossless files need strong evidence: the photo weights cost a clean image more (they soften it)
# than the clean weights cost a mildly degraded one. So the chroma noise must exceed the level
# that nearly all noise-free images stay under while nearly all images with sigma-5 noise exceed it.
NOISE_THRESHOLD = models.CLEAN.noise[1]  # in Cb/Cr of colour images
LIGHT_NOISE_BELOW = models.LIGHT.noise[1]  # colour noise up to which the light weights beat the photo ones
# Share of pixels in exactly flat surroundings beyond which a picture counts as drawn, not noisy.
UNTOUCHED_SHARE = 0.01
GRAY_NOISE_THRESHOLD = 3.5  # in the luma of gray images, where texture and noise are harder to tell apart
MIN_SIDE = 96
MIN_BLOCKS = 16  # noise is read on at least this many 8x8 blocks left by clipping, else on all
SAMPLE_SIDE = 1024  # lossless files are judged on their central crop of this size (a crop keeps the grid)


@dataclass(frozen=True)
class Choice:
    model: str  # CLEAN or PHOTO
    reason: str  # e.g. "JPEG quality ≈ 72: photo model"


def jpeg_quality(image: Image.Image) -> int | None:
    """The quality (1..100) a JPEG was saved at, from its luma quantization table; None if not a JPEG."""
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not tables:
        return None
    luma = np.asarray(tables[min(tables)], np.float64)
    if luma.size != 64:
        return None
    return fit_quality(np.arange(64), luma)


def noise_sigma(plane: np.ndarray, block: int = 8, percentile: float = 5,
                clipped: np.ndarray | None = None) -> float:
    """Standard deviation of white noise in one plane (0..255 units): Immerkaer's fast estimate
    (the mean absolute response of a difference of Laplacians, which cancels smooth shading)
    taken over the flattest blocks of the image, so that texture does not read as noise.

    `clipped` marks pixels at black or white: there noise is cut off on one side, so a flat white
    page of a noisy screenshot reads as barely noisy and would be the flattest block. Blocks that
    touch such pixels are left out unless exactly flat (as a clean picture's white page is)."""
    y = np.asarray(plane, np.float64)
    if min(y.shape) < block + 2:
        return 0.0
    lap = np.abs(y[:-2, :-2] - 2 * y[:-2, 1:-1] + y[:-2, 2:] - 2 * y[1:-1, :-2] + 4 * y[1:-1, 1:-1]
                 - 2 * y[1:-1, 2:] + y[2:, :-2] - 2 * y[2:, 1:-1] + y[2:, 2:])
    h, w = (n - n % block for n in lap.shape)

    def tiles(a):  # the image's whole 8x8 blocks, as axes 1 and 3
        return a[:h, :w].reshape(h // block, block, w // block, block)

    blocks = tiles(lap).mean(axis=(1, 3))
    if clipped is not None:  # a clipped pixel in any 3x3 window of the block's Laplacians
        touched = tiles(sliding_window_view(clipped, (3, 3)).any(axis=(-2, -1))).any(axis=(1, 3))
        keep = ~touched | (blocks == 0)
        if keep.sum() >= MIN_BLOCKS:
            blocks = blocks[keep]
    return float(np.sqrt(np.pi / 2) * np.percentile(blocks, percentile) / 6)


def image_noise(pixels: np.ndarray) -> float:
    """Noise of an image: in its chroma for colour images (photos' colour is smooth, so fine
    detail barely reaches Cb and Cr while sensor noise does), in its luma for gray ones."""
    pixels = np.asarray(pixels)
    clipped = (pixels == 0) | (pixels == 255)
    if pixels.ndim == 2:
        return noise_sigma(pixels, clipped=clipped)
    clipped = np.any(clipped[..., :3], axis=-1)
    ycc = rgb_to_ycbcr(pixels[..., :3])
    return max(noise_sigma(ycc[..., 1], clipped=clipped), noise_sigma(ycc[..., 2], clipped=clipped))


def untouched_share(pixels: np.ndarray) -> float:
    """The share of pixels whose 3x3 surroundings are exactly one colour, short of black and white.

    Sensor noise touches every pixel, so a noisy photo has none, clipped highlights and shadows
    aside; drawn pictures (pixel art, user interfaces, flat-shaded graphics) have many. Where their
    shapes are too small for a flat 8x8 block, noise_sigma would read their edges as noise.
    """
    p = np.asarray(pixels)
    p = p[..., None] if p.ndim == 2 else p
    h, w = p.shape[:2]
    if min(h, w) < 3:
        return 0.0
    centre = p[1:-1, 1:-1]
    same = np.ones((h - 2, w - 2), bool)
    for dy in range(3):
        for dx in range(3):
            same &= np.all(p[dy : h - 2 + dy, dx : w - 2 + dx] == centre, axis=-1)
    unclipped = np.all((centre > 0) & (centre < 255), axis=-1)
    return float(np.mean(same & unclipped))


@dataclass(frozen=True)
class Evidence:
    """What one file shows: the weights auto picks for it among those installed, and why."""

    band: str  # the variant whose band holds the evidence (possibly not installed: see choose)
    text: str  # e.g. "JPEG quality ≈ 72"
    quality: int | None  # a JPEG's quality, None for other files
    axis: str | None = None  # the registry's band it was read on ("jpeg", "noise"), None for gray noise
    value: float | None = None  # the quality or noise level on that axis


def find_evidence(source, pixels: np.ndarray | None = None, installed=WEIGHTS) -> Evidence:
    """The evidence `choose` goes by: the JPEG quality in `source`'s header, else (for a lossless
    file) the trace of a decoded JPEG and noise in the central SAMPLE_SIDE crop of `pixels` (see choose).
    `band` is the variant auto gives it where every variant is installed; choose resolves it
    among those that are (`installed` is taken for compatibility and not needed)."""
    quality = _file_quality(source)
    if quality is not None:
        return Evidence(models.band_of("jpeg", quality), f"JPEG quality ≈ {quality}", quality, "jpeg", quality)
    if pixels is None:
        return Evidence(CLEAN, "not a JPEG", None)
    pixels = _centre(pixels, SAMPLE_SIDE)
    trace = find_trace(_luma(pixels))
    if trace is not None:
        text = f"lossless file holding a decoded JPEG (quality ≈ {trace.quality})"
        return Evidence(models.band_of("jpeg", trace.quality), text, trace.quality, "jpeg", trace.quality)
    noise, colour = image_noise(pixels), pixels.ndim == 3
    if noise >= min(NOISE_THRESHOLD, GRAY_NOISE_THRESHOLD) and untouched_share(pixels) > UNTOUCHED_SHARE:
        return Evidence(CLEAN, "lossless drawn picture (flat areas no noise touched), no JPEG trace", None)
    if noise >= (NOISE_THRESHOLD if colour else GRAY_NOISE_THRESHOLD):
        text = f"lossless file with noise (σ ≈ {noise:.1f})"
        if not colour:  # gray noise is told from texture less surely: the photo weights, no light band
            return Evidence(PHOTO, text, None)
        return Evidence(models.band_of("noise", noise), text, None, "noise", noise)
    return Evidence(CLEAN, "lossless file, no JPEG blocks or noise found", None)


def choose(source, pixels: np.ndarray | None = None, requested: str = AUTO, installed=WEIGHTS,
           evidence: Evidence | None = None) -> Choice:
    """The weight file to run for one image (one of `installed`, which must hold CLEAN), and why.

    `source`: the file (path or file object) as uploaded, read only for its header; `pixels`:
    its decoded image (a uint8 array, gray or RGB/RGBA, or a PIL image), looked at only for
    lossless files, and then only at its central SAMPLE_SIDE crop. `evidence`: find_evidence's
    answer for the same file and `installed`, when the caller has it already (it costs a lossless
    file a look at its pixels). Asking for "photo" where no photo weights are installed is a
    ValueError; auto then falls back to clean and says so.
    """
    requested = models.check_request(requested or AUTO, installed)
    if requested == CLEAN:
        return Choice(CLEAN, "clean model, as asked")
    photos = [m for m in PHOTO_WEIGHTS if m in installed]
    found = evidence or find_evidence(source, pixels, installed)
    if requested == PHOTO:
        # The photo weights nearest to what auto would pick; for a clean-looking file, those for
        # its kind: light for a JPEG of high quality, photo for a lossless file.
        wanted = found.band if found.band != CLEAN else LIGHT if found.quality is not None else PHOTO
        model = wanted if wanted in photos else photos[0]
        return Choice(model, f"{NAMES[model]}, as asked ({found.text})")
    return _available(found, installed)


def _available(found: Evidence, installed) -> Choice:
    """Auto's pick among the installed variants (models.resolve), or clean with the reason why."""
    if found.band == CLEAN:
        return Choice(CLEAN, f"{found.text}: clean model")
    model = models.resolve(found.band, installed, found.axis, found.value)
    if model is None:
        return Choice(CLEAN, f"{found.text}, but the photo weights are not installed: clean model")
    return Choice(model, f"{found.text}: {NAMES[model]}")


def _file_quality(source) -> int | None:
    if source is None:
        return None
    try:
        if hasattr(source, "seek"):
            source.seek(0)
        with Image.open(source) as im:
            return jpeg_quality(im)
    except (OSError, ValueError):
        return None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)


def _centre(pixels, side: int) -> np.ndarray:
    """The central side x side crop as gray (H, W) or RGB (H, W, 3): a large photo's statistics at a
    bounded cost. Alpha is left out; gray + alpha counts as gray."""
    if isinstance(pixels, Image.Image):
        w, h = pixels.size
        x, y = max(0, (w - side) // 2), max(0, (h - side) // 2)
        pixels = pixels.crop((x, y, min(w, x + side), min(h, y + side)))
    pixels = np.asarray(pixels)
    h, w = pixels.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    pixels = pixels[y : y + side, x : x + side]
    if pixels.ndim == 3:
        pixels = pixels[..., 0] if pixels.shape[2] < 3 else pixels[..., :3]
    return pixels


def _luma(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels, np.float64)
    if pixels.ndim == 2:
        return pixels
    return pixels[..., :3] @ np.array([0.299, 0.587, 0.114])
