"""Training pairs made on the fly from folders of HR photos, with the standard degradation.

Every HR image (and, as in the paper, copies shrunk to 0.9 ... 0.6 of its size) is modcropped
and shrunk with MATLAB bicubic once, up front; only luma is kept, as floats in 0..1. Random
LR patches with their matching HR patches and a random flip/rotation are then drawn per batch
with a handful of vectorised numpy slices, so the cores stay busy with the model.

Image edges: the loss skips `edge` LR pixels at each patch border (train.py), so the sampler
mirrors every image by that much first, exactly as inference pads a photo (upscaler.py).
Patches then reach the image's own edges, and the network learns the pixels next to them from
the same mirrored context it will see in use; without it, no pixel within `edge` of an image
edge ever enters the loss.
"""
from dataclasses import dataclass
import logging

import numpy as np
import tensorflow as tf

from .color import to_uint8
from .images import ImageError, list_images, read_rgb_or_gray
from .imresize import degrade, imresize, modcrop
from .metrics import luma

log = logging.getLogger(__name__)

PAPER_DOWNSCALES = (1.0, 0.9, 0.8, 0.7, 0.6)


@dataclass
class Pair:
    lr: np.ndarray  # (h, w) luma / 255
    hr: np.ndarray  # (scale*h, scale*w) luma / 255
    name: str = ""  # source file
    shrink: float = 1.0  # the HR copy's size relative to the file


def make_pair(hr: np.ndarray, scale: int, name: str = "", shrink: float = 1.0) -> Pair:
    """Standard degradation of one uint8 HR image into an (LR, HR) luma pair."""
    hr = modcrop(hr, scale)
    lr = degrade(hr, scale)
    return Pair(luma(lr) / 255.0, luma(hr) / 255.0, name, shrink)


def load_pairs(folders, scale: int, downscales=PAPER_DOWNSCALES) -> list[Pair]:
    paths = [p for folder in folders for p in list_images(folder)]
    pairs = []
    for path in paths:
        hr = read_rgb_or_gray(path)
        for f in downscales:
            img = hr if f == 1.0 else to_uint8(imresize(hr, f))
            if min(img.shape[:2]) >= scale:
                pairs.append(make_pair(img, scale, path.name, f))
    return pairs


class PatchSampler:
    """Draws batches of (LR patch, HR patch) with random position and random dihedral transform."""

    def __init__(self, pairs: list[Pair], scale: int, patch: int, batch_size: int, seed: int | None = None,
                 edge: int = 0):
        if edge:
            pairs = [
                Pair(np.pad(p.lr, edge, mode="symmetric"), np.pad(p.hr, edge * scale, mode="symmetric"), p.name, p.shrink)
                for p in pairs
            ]
        usable = [p for p in pairs if min(p.lr.shape) >= patch]
        too_small = sorted(p.name for p in pairs if p.shrink == 1.0 and min(p.lr.shape) < patch)
        if too_small:
            log.warning(
                "%d image(s) are too small for a %dx%d LR patch at x%d and are left out: %s",
                len(too_small), patch, patch, scale, ", ".join(too_small[:10]) + (" ..." if len(too_small) > 10 else ""),
            )
        if not usable:
            raise ImageError(
                f"no training image is large enough for a {patch}x{patch} LR patch at x{scale} "
                f"(needs at least {(patch - 2 * edge) * scale}x{(patch - 2 * edge) * scale} HR pixels); use a smaller --patch"
            )
        self.pairs, self.scale, self.patch, self.batch_size = usable, scale, patch, batch_size
        positions = np.array([(p.lr.shape[0] - patch + 1) * (p.lr.shape[1] - patch + 1) for p in usable], float)
        self.prob = positions / positions.sum()
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.pairs)

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        s, P = self.scale, self.patch
        lr = np.empty((self.batch_size, P, P, 1), np.float32)
        hr = np.empty((self.batch_size, P * s, P * s, 1), np.float32)
        for i, k in enumerate(self.rng.choice(len(self.pairs), self.batch_size, p=self.prob)):
            pair = self.pairs[k]
            y = self.rng.integers(0, pair.lr.shape[0] - P + 1)
            x = self.rng.integers(0, pair.lr.shape[1] - P + 1)
            a = pair.lr[y : y + P, x : x + P]
            b = pair.hr[y * s : (y + P) * s, x * s : (x + P) * s]
            t = self.rng.integers(0, 8)  # the 8 symmetries of the square
            a, b = np.rot90(a, t % 4), np.rot90(b, t % 4)
            if t >= 4:
                a, b = a[:, ::-1], b[:, ::-1]
            lr[i, ..., 0], hr[i, ..., 0] = a, b
        return lr, hr

    def dataset(self) -> tf.data.Dataset:
        s, P = self.scale, self.patch

        def gen():
            while True:
                yield self.batch()

        spec = (
            tf.TensorSpec((self.batch_size, P, P, 1), tf.float32),
            tf.TensorSpec((self.batch_size, P * s, P * s, 1), tf.float32),
        )
        return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(tf.data.AUTOTUNE)
