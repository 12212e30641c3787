"""MATLAB-compatible bicubic resize: the degradation every published SR table is measured with.

PIL and OpenCV bicubic differ from MATLAB's `imresize` (no antialiasing when shrinking,
other kernel constant or border rule), and the difference moves PSNR by tenths of a dB, so
this is one of the few places where the project has its own implementation.

MATLAB's rules, reproduced here: cubic kernel with a = -0.5; when shrinking by factor f the
kernel is stretched by 1/f (antialiasing); output pixel x samples input position
u = x / f + 0.5 * (1 - 1 / f) (1-based); out-of-range taps mirror (symmetric padding);
height is resized before width when both factors are equal.
"""
import math
from functools import lru_cache

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    ) * ((ax > 1) & (ax <= 2))


@lru_cache(maxsize=256)
def _contributions(in_len: int, out_len: int, factor: float):
    """Per output pixel: the input indices it reads and their weights (MATLAB's `contributions`)."""
    kernel_width = 4.0
    if factor < 1:
        kernel = lambda x: factor * _cubic(factor * x)  # noqa: E731
        kernel_width /= factor
    else:
        kernel = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / factor + 0.5 * (1.0 - 1.0 / factor)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric border: ... 2 1 | 1 2 3 ... n | n n-1 ...
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = mirror[np.mod(indices - 1, 2 * in_len).astype(np.int64)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep].astype(np.float32), indices[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, factor: float) -> np.ndarray:
    weights, indices = _contributions(img.shape[axis], out_len, factor)
    img = np.moveaxis(img, axis, 0)
    out = np.zeros((out_len,) + img.shape[1:], dtype=np.float32)
    # A few taps per output pixel: one vectorised gather + multiply-add per tap.
    shape = (out_len,) + (1,) * (img.ndim - 1)
    for t in range(weights.shape[1]):
        out += img[indices[:, t]] * weights[:, t].reshape(shape)
    return np.moveaxis(out, 0, axis)


def imresize(img: np.ndarray, scale: float | None = None, output_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image like MATLAB's `imresize(img, scale, 'bicubic')`.

    Give `scale` (output size is ceil(scale * input), as MATLAB), `output_shape` (H, W), or
    both (the exact factor for a size that floating point would round up). Returns float32 without
    rounding; use `color.to_uint8` to get MATLAB's uint8 result.
    """
    img = np.asarray(img, dtype=np.float32)
    h, w = img.shape[:2]
    if output_shape is None:
        if scale is None or scale <= 0:
            raise ValueError("imresize needs a positive scale or an output shape")
        output_shape = (int(math.ceil(h * scale)), int(math.ceil(w * scale)))
        factors = (scale, scale)
    elif scale is not None:
        factors = (scale, scale)
    else:
        factors = (output_shape[0] / h, output_shape[1] / w)
    if min(output_shape) < 1:
        raise ValueError(f"imresize output shape {output_shape} is empty")
    order = (0, 1) if factors[0] <= factors[1] else (1, 0)
    for axis in order:
        img = _resize_axis(img, axis, output_shape[axis], factors[axis])
    return img


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop bottom/right so both sides are multiples of `scale` (the protocol's first step)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def degrade(hr: np.ndarray, scale: int) -> np.ndarray:
    """The standard LR input: MATLAB bicubic shrink by 1/scale, rounded to uint8.

    `hr` must already be modcropped (uint8, (H, W) or (H, W, 3)).
    """
    from .color import to_uint8

    h, w = hr.shape[:2]
    return to_uint8(imresize(hr, 1.0 / scale, output_shape=(h // scale, w // scale)))


def upscale_plane(plane: np.ndarray, scale: int) -> np.ndarray:
    """Fast integer-factor bicubic enlargement of one float plane, equal to `imresize` (1e-4).

    Pillow's bicubic uses MATLAB's kernel (a = -0.5) and pixel-centre alignment but clamps the
    kernel at the borders instead of mirroring. Mirror-padding by the kernel's reach (2 pixels)
    first and cropping after gives MATLAB's border too, at C speed.
    """
    from PIL import Image

    pad = 2
    h, w = plane.shape
    padded = np.pad(np.asarray(plane, np.float32), pad, mode="symmetric")
    big = Image.fromarray(padded).resize((padded.shape[1] * scale, padded.shape[0] * scale), Image.BICUBIC)
    return np.asarray(big)[pad * scale : (pad + h) * scale, pad * scale : (pad + w) * scale]


@lru_cache(maxsize=8)
def upscale_kernel(scale: int) -> tuple[np.ndarray, int]:
    """Integer-factor `imresize` enlargement as a conv kernel: ((k, k, 1, scale**2), reach).

    Enlarging by an integer factor gives every output phase the same few taps, so a 'valid'
    conv of the plane mirror-padded by `reach` pixels, with output channel py*scale + px for
    HR phase (py, px), followed by depth_to_space, is `imresize` (to float rounding). The
    inference module uses it to run chroma and alpha inside the same compiled program as luma.
    """
    n = 16  # long enough that the middle pixel's taps never reach a border
    weights, indices = _contributions(n, n * scale, float(scale))
    centre = n // 2
    taps = {}
    for p in range(scale):
        row = centre * scale + p
        for w, i in zip(weights[row], indices[row], strict=True):
            if w != 0:
                taps[(p, int(i) - centre)] = float(w)
    reach = max(abs(o) for _, o in taps)
    k = 2 * reach + 1
    one_d = np.zeros((scale, k), np.float64)
    for (p, o), w in taps.items():
        one_d[p, o + reach] = w
    kernel = np.einsum("pa,qb->abpq", one_d, one_d).reshape(k, k, 1, scale * scale)
    return kernel.astype(np.float32), reach
