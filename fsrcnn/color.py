"""Colour conversions of the super-resolution protocol (ITU-R BT.601, as MATLAB's rgb2ycbcr).

All functions are pure numpy, work on arrays of shape (..., 3) in the 0..255 range and return
float32. Luma is what the network sees and what PSNR/SSIM are measured on.

`display_map` is the one definition of how the upscaled planes become output pixels; the engines
(fsrcnn/engines/) and the numpy reference (fsrcnn/reference.py) all build on it.
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


# Y of a gray image is 16 + 219/255 * gray (three equal channels through _RGB_TO_YCBCR). Kept in
# float64, exact, like the YCbCr matrix above: whoever folds them into other constants rounds once.
GRAY_OFFSET = np.array([16.0])
Y_TO_GRAY = np.array([[255.0 / 219.0]])


def display_map(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset) with output = matrix @ (planes - offset) for the colour planes of `kind`.

    The planes are Y (0..255, the network's luma times 255) and, for 'rgb'/'rgba', bicubic Cb
    and Cr. 'gray' maps Y back to gray, 'rgb'/'rgba' is MATLAB's ycbcr2rgb; alpha is not colour
    and passes through. Not clipped or rounded: that is `to_uint8`.
    """
    if kind == "gray":
        return Y_TO_GRAY, GRAY_OFFSET
    if kind in ("rgb", "rgba"):
        return YCBCR_TO_RGB, YCBCR_OFFSET
    raise ValueError(f"no colour conversion for {kind!r}: use gray, rgb or rgba")


def gray_to_y(gray: np.ndarray) -> np.ndarray:
    """A grayscale image is an RGB image with three equal channels; this is its luma."""
    return np.asarray(gray, dtype=np.float32) * np.float32(219.0 / 255.0) + np.float32(16.0)


def y_to_gray(y):
    """Inverse of gray_to_y (not clipped)."""
    return (y - np.float32(GRAY_OFFSET[0])) * np.float32(Y_TO_GRAY[0, 0])


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half away from zero like MATLAB's uint8(), after clipping to 0..255."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)
