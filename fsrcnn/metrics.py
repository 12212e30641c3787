"""PSNR and SSIM on luma with the standard border crop (see ../shared/data/README.md).

`tf.image.psnr` and `tf.image.ssim` implement exactly the protocol's definitions (peak 255;
11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, 'valid' positions), so they are used as is;
this module only prepares the inputs the protocol prescribes.
"""
import numpy as np
import tensorflow as tf

from .color import gray_to_y, rgb_to_y

SSIM_WINDOW = 11


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
    a = tf.constant(shave(luma(reference), border)[..., None], tf.float32)
    b = tf.constant(shave(luma(test), border)[..., None], tf.float32)
    psnr = float(tf.image.psnr(a, b, max_val=255.0))
    ssim = float(tf.image.ssim(a, b, max_val=255.0, filter_size=SSIM_WINDOW, filter_sigma=1.5, k1=0.01, k2=0.03))
    return psnr, ssim
