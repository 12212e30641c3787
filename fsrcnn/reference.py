"""An independent reference for whole images: what every engine's tiled program must reproduce.

Plain numpy and the Keras model, one whole image at a time, with none of the engines' shortcuts
(no tiles, no sub-pixel rewrite, no colour folded into the bicubic kernel): the network by
`model.luma_forward`, chroma and alpha by MATLAB bicubic (`imresize.imresize`), colour by
`color.display_map`, rounding by `color.to_uint8`. Slow, and meant for tests.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import ensemble
from .color import display_map, gray_to_y, rgb_to_ycbcr, to_uint8
from .imresize import imresize
from .model import luma_forward

if TYPE_CHECKING:
    import keras


def upscale_luma(net: keras.Model, y: np.ndarray, scale: int, tta: bool = False) -> np.ndarray:
    """(H, W) luma in 0..1 -> (scale*H, scale*W) float32, optionally the self-ensemble's mean."""
    y = np.asarray(y, np.float32)
    if not tta:
        return luma_forward(net, y, scale)
    return ensemble.mean_over_views(lambda view: luma_forward(net, view, scale), y).astype(np.float32)


def upscale_array(net: keras.Model, img: np.ndarray, scale: int, tta: bool = False) -> np.ndarray:
    """uint8 (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA -> uint8 of scale x the size."""
    img = np.asarray(img)
    gray = img.ndim == 2
    planes = gray_to_y(img)[..., None] if gray else rgb_to_ycbcr(img[..., :3])
    y = upscale_luma(net, planes[..., 0] / 255.0, scale, tta) * 255.0
    hr = [y] + [imresize(planes[..., c], scale) for c in range(1, planes.shape[-1])]
    matrix, offset = display_map("gray" if gray else "rgb")
    out = to_uint8((np.stack(hr, axis=-1) - offset) @ matrix.T)
    if not gray and img.shape[2] == 4:
        out = np.concatenate([out, to_uint8(imresize(img[..., 3].astype(np.float32), scale))[..., None]], axis=-1)
    return out[..., 0] if gray else out
