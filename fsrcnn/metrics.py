"""PSNR and SSIM on luma with the standard border crop (see ../shared/data/README.md).

The protocol's definitions: peak 255; SSIM (Wang et al. 2004) with an 11x11 Gaussian window of
sigma 1.5, K1 0.01, K2 0.03, over 'valid' positions only. These are `tf.image.psnr` and
`tf.image.ssim`'s definitions too, and tests/test_metrics.py holds this numpy form to them; it
is numpy so that the app and the command line measure without loading TensorFlow.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .color import gray_to_y, rgb_to_y

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
PEAK = 255.0


def luma(img: np.ndarray) -> np.ndarray:
    """Y (16..235, float) of an (H, W) grayscale or (H, W, 3) RGB image in 0..255."""
    img = np.asarray(img)
    return gray_to_y(img) if img.ndim == 2 else rgb_to_y(img[..., :3])


def shave(img: np.ndarray, border: int) -> np.ndarray:
    return img[border:-border, border:-border] if border > 0 else img


def psnr_ssim_y(reference: np.ndarray, test: np.ndarray, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM on Y of two same-size images, `border` pixels cropped from every side."""
    if reference.shape[:2] != test.shape[:2]:
        raise ValueError(f"size mismatch: {reference.shape[:2]} vs {test.shape[:2]}")
    if min(reference.shape[:2]) - 2 * border < SSIM_WINDOW:
        raise ValueError(
            f"a {reference.shape[1]}x{reference.shape[0]} image is too small to measure: SSIM needs "
            f"{SSIM_WINDOW}x{SSIM_WINDOW} pixels after cropping {border} from each border"
        )
    a = shave(luma(reference), border).astype(np.float64)
    b = shave(luma(test), border).astype(np.float64)
    return psnr(a, b), ssim(a, b)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(PEAK**2 / mse)


def _gaussian_mean(x: np.ndarray) -> np.ndarray:
    """The Gaussian-weighted mean around every 'valid' position (a separable 11x11 window)."""
    coords = np.arange(SSIM_WINDOW) - (SSIM_WINDOW - 1) / 2.0
    g = np.exp(-(coords**2) / (2.0 * SSIM_SIGMA**2))
    g /= g.sum()
    x = sliding_window_view(x, SSIM_WINDOW, axis=0) @ g
    return sliding_window_view(x, SSIM_WINDOW, axis=1) @ g


def ssim(a: np.ndarray, b: np.ndarray, k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean SSIM of two 2-D planes in 0..PEAK."""
    c1, c2 = (k1 * PEAK) ** 2, (k2 * PEAK) ** 2
    mu_a, mu_b = _gaussian_mean(a), _gaussian_mean(b)
    luminance = (2.0 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    cov2 = 2.0 * (_gaussian_mean(a * b) - mu_a * mu_b)
    var_sum = _gaussian_mean(a * a + b * b) - mu_a**2 - mu_b**2
    return float(np.mean(luminance * (cov2 + c2) / (var_sum + c2)))
