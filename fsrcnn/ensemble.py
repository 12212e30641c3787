"""The geometric self-ensemble: the 8 symmetries of the square (flips and quarter turns).

The network runs on each transformed view, each output is transformed back, and the mean is the
result (Timofte et al., "Seven ways to improve example-based single image super resolution").
Views that share a shape run as one batch: quarter turns of the plain and the transposed image
alternate between (H, W) and (W, H), so two batches of four cover any tile (`GROUPS`).

The engines apply these transforms with their own operations; the numpy forms here define them
and serve the reference (fsrcnn/reference.py).
"""
from collections.abc import Callable

import numpy as np

# (transpose first?, quarter turns counter-clockwise) on the H, W axes.
Transform = tuple[bool, int]
DIHEDRAL: list[Transform] = [(False, k) for k in range(4)] + [(True, k) for k in range(4)]
# The views of one output shape: (H, W) for parity 0, (W, H) for parity 1.
GROUPS: list[list[Transform]] = [[t for t in DIHEDRAL if (t[0] + t[1]) % 2 == parity] for parity in (0, 1)]


def forward(x: np.ndarray, t: Transform, axes=(0, 1)) -> np.ndarray:
    """The view `t` of x: transposed (if asked), then rotated, on `axes`."""
    transpose, k = t
    if transpose:
        x = np.swapaxes(x, *axes)
    return np.rot90(x, k, axes)


def inverse(x: np.ndarray, t: Transform, axes=(0, 1)) -> np.ndarray:
    """Undo `forward(., t)`."""
    transpose, k = t
    x = np.rot90(x, -k, axes)
    return np.swapaxes(x, *axes) if transpose else x


def mean_over_views(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Mean over the 8 symmetries of f(view of x), each undone (numpy, one view at a time)."""
    total = 0.0
    for t in DIHEDRAL:
        total = total + inverse(f(np.ascontiguousarray(forward(x, t))), t)
    return total / len(DIHEDRAL)
