"""Colour conversions of the super-resolution protocol (ITU-R BT.601, as MATLAB's rgb2ycbcr).

All functions are pure numpy, work on arrays of shape (..., 3) in the 0..255 range and return
float32. Luma is what the network sees and what PSNR/SSIM are measured on. The constants are
public because the inference module repeats the inverse conversion inside its compiled program.
"""
import numpy as np

# MATLAB rgb2ycbcr for double images in 0..255: ycbcr = offset + M @ rgb / 255
_RGB_TO_YCBCR = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
    dtype=np.float64,
) / 255.0
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)
YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR).astype(np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in 0..255 -> (..., 3) YCbCr, Y in 16..235, Cb/Cr in 16..240."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return (rgb @ _RGB_TO_YCBCR.T.astype(np.float32) + YCBCR_OFFSET).astype(np.float32)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """Inverse of rgb_to_ycbcr; not clipped, so callers decide how to quantise."""
    ycbcr = np.asarray(ycbcr, dtype=np.float32) - YCBCR_OFFSET
    return (ycbcr @ YCBCR_TO_RGB.T).astype(np.float32)


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """Luma only: (..., 3) RGB in 0..255 -> (...) Y in 16..235."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return (rgb @ _RGB_TO_YCBCR[0].astype(np.float32) + np.float32(16.0)).astype(np.float32)


def gray_to_y(gray: np.ndarray) -> np.ndarray:
    """A grayscale image is an RGB image with three equal channels; this is its luma."""
    return np.asarray(gray, dtype=np.float32) * np.float32(219.0 / 255.0) + np.float32(16.0)


def y_to_gray(y):
    """Inverse of gray_to_y (not clipped); float32 numpy arrays and TF tensors alike."""
    return (y - 16.0) * (255.0 / 219.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half away from zero like MATLAB's uint8(), after clipping to 0..255."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)
