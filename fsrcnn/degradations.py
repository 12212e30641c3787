"""What cameras and the web do to a photo after the standard shrink: blur, noise, JPEG.

The clean weights learn the protocol's degradation alone (MATLAB-bicubic shrink, uint8). Real
uploads have been through more: optics blur a little, sensors add noise (partly signal
dependent), and almost every file is a JPEG, often saved twice. A model for real photos is
trained on LR images degraded by a random chain of those, in the order a camera applies them:

    HR --blur (optional, before the shrink)--> MATLAB bicubic shrink --> noise --> JPEG --> JPEG

This is a small version of BSRGAN's and Real-ESRGAN's degradation models (Zhang et al. 2021;
Wang et al. 2021): their Gaussian noise in colour or in luma only, Real-ESRGAN's Poisson noise,
and JPEG through a real encoder (Pillow's libjpeg, 4:2:0 chroma as browsers and Pillow write
it), without their random resizes and sinc filters, which a PSNR model of 12k parameters meant
for bicubic-like inputs does not need.

Everything works on uint8 RGB (H, W, 3) or gray (H, W) arrays and takes a numpy Generator, so
a chain is reproducible from its seed. `apply_spec` gives the fixed degradations of evaluation
("jpeg75", "noise5", "jpeg75+noise3").
"""
import io
import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .color import to_uint8
from .imresize import degrade


@dataclass(frozen=True)
class Chain:
    """A random degradation: each stage runs with its probability, its strength drawn uniformly."""

    blur_prob: float = 0.0  # Gaussian blur of the HR image before the shrink
    blur_sigma: tuple[float, float] = (0.3, 1.0)  # HR pixels
    noise_prob: float = 0.0
    noise_sigma: tuple[float, float] = (1.0, 10.0)  # Gaussian, in 0..255 units
    poisson_prob: float = 0.0  # share of the noisy images whose noise is signal-dependent instead
    poisson_scale: tuple[float, float] = (0.05, 2.0)  # Real-ESRGAN's scale of Poisson noise
    gray_noise_prob: float = 0.4  # the same noise in every channel (luma only), as BSRGAN
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 95)
    jpeg2_prob: float = 0.0  # a second compression, as when a JPEG is edited and saved again
    jpeg2_quality: tuple[int, int] = (30, 95)

    @classmethod
    def from_dict(cls, values: dict) -> "Chain":
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown degradation setting(s): {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with mirrored borders, float32 out (not rounded)."""
    img = np.asarray(img, np.float32)
    if sigma <= 0:
        return img
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(img, pad, mode="symmetric")
        n = img.shape[axis]
        img = sum(t * np.take(padded, np.arange(i, i + n), axis=axis) for i, t in enumerate(taps))
    return img.astype(np.float32)


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator, gray: bool = False) -> np.ndarray:
    """img + N(0, sigma^2) per channel (colour noise) or shared by the channels (gray), float32."""
    img = np.asarray(img, np.float32)
    shape = (img.shape[:2] + ((1,) if img.ndim == 3 else ())) if gray else img.shape
    return img + rng.normal(0.0, sigma, shape).astype(np.float32)


def poisson_noise(img: np.ndarray, scale: float, rng: np.random.Generator, gray: bool = False) -> np.ndarray:
    """Signal-dependent noise as Real-ESRGAN's `generate_poisson_noise`: photon counts of the
    image at the resolution of its distinct values, their deviation scaled by `scale`."""
    img = np.asarray(img, np.float32)
    base = img @ np.float32([0.299, 0.587, 0.114]) if gray and img.ndim == 3 else img
    x = np.clip(base / 255.0, 0.0, 1.0)
    levels = 2 ** np.ceil(np.log2(max(len(np.unique(np.round(x * 255))), 2)))
    noise = (rng.poisson(x * levels) / levels - x).astype(np.float32) * 255.0 * scale
    return img + (noise[..., None] if gray and img.ndim == 3 else noise)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode as a JPEG file of this quality with 4:2:0 chroma (gray stays gray), decode again."""
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(img, quality))))


def jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(np.asarray(img, np.uint8))
    im.save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0" if im.mode == "RGB" else -1)
    return buf.getvalue()


def apply_chain(lr: np.ndarray, chain: Chain, rng: np.random.Generator) -> np.ndarray:
    """Noise and JPEG stages of `chain` on a uint8 LR image; uint8 out. (Blur acts on the HR
    image, before the shrink: see `degrade_hr`.)"""
    out = lr
    if rng.random() < chain.noise_prob:
        gray = rng.random() < chain.gray_noise_prob
        if rng.random() < chain.poisson_prob:
            out = to_uint8(poisson_noise(out, rng.uniform(*chain.poisson_scale), rng, gray))
        else:
            out = to_uint8(gaussian_noise(out, rng.uniform(*chain.noise_sigma), rng, gray))
    if rng.random() < chain.jpeg_prob:
        out = jpeg(out, rng.integers(chain.jpeg_quality[0], chain.jpeg_quality[1] + 1))
        if rng.random() < chain.jpeg2_prob:
            out = jpeg(out, rng.integers(chain.jpeg2_quality[0], chain.jpeg2_quality[1] + 1))
    return out


def degrade_hr(hr: np.ndarray, scale: int, chain: Chain, rng: np.random.Generator) -> np.ndarray:
    """The whole chain from a modcropped uint8 HR image to its degraded uint8 LR image."""
    if rng.random() < chain.blur_prob:
        hr = to_uint8(gaussian_blur(hr, rng.uniform(*chain.blur_sigma)))
    return apply_chain(degrade(hr, scale), chain, rng)


# --- fixed degradations for evaluation and the app: "jpeg75", "noise5", "poisson1", "jpeg75+noise3"

_STEP = re.compile(r"(jpeg|noise|graynoise|poisson)(\d+(?:\.\d+)?)")


def parse_spec(spec: str) -> list[tuple[str, float]]:
    """'jpeg75+noise3' -> [('jpeg', 75.0), ('noise', 3.0)]; '' or 'none' -> []."""
    spec = (spec or "").strip().lower()
    if spec in ("", "none", "clean"):
        return []
    steps = []
    for part in spec.split("+"):
        m = _STEP.fullmatch(part.strip())
        if not m:
            raise ValueError(
                f"unknown degradation {part!r} in {spec!r}: use jpegQ (quality 1-100), noiseS (Gaussian sigma "
                "in 0..255 units, per channel), graynoiseS (the same in every channel) or poissonK, joined by +"
            )
        kind, value = m.group(1), float(m.group(2))
        if kind == "jpeg" and not 1 <= value <= 100:
            raise ValueError(f"JPEG quality must be 1 to 100, got {value:g} in {spec!r}")
        steps.append((kind, value))
    return steps


def apply_spec(img: np.ndarray, spec: str, seed: int = 0) -> np.ndarray:
    """A fixed degradation of a uint8 LR image, steps applied left to right, seeded; uint8 out."""
    return _run_spec(img, spec, seed)[0]


def encode_spec(img: np.ndarray, spec: str, seed: int = 0) -> tuple[bytes, str]:
    """The degraded image as the file a user would have: the JPEG's own bytes when the last
    step is a JPEG (so its quantization tables are there to read), a PNG otherwise."""
    out, last_jpeg = _run_spec(img, spec, seed)
    if last_jpeg is not None:
        return last_jpeg, ".jpg"
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), ".png"


def _run_spec(img: np.ndarray, spec: str, seed: int) -> tuple[np.ndarray, bytes | None]:
    rng = np.random.default_rng(seed)
    out, last_jpeg = np.asarray(img, np.uint8), None
    for kind, value in parse_spec(spec):
        last_jpeg = None
        if kind == "jpeg":
            last_jpeg = jpeg_bytes(out, int(value))
            out = np.asarray(Image.open(io.BytesIO(last_jpeg)))
        elif kind == "poisson":
            out = to_uint8(poisson_noise(out, value, rng))
        else:
            out = to_uint8(gaussian_noise(out, value, rng, gray=kind == "graynoise"))
    return out, last_jpeg
