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
import logging
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .color import to_uint8
from .config import PAPER_DOWNSCALES
from .degradations import Chain, apply_chain, gaussian_blur
from .images import ImageError, list_images, read_rgb_or_gray
from .imresize import degrade, imresize, modcrop
from .metrics import luma

log = logging.getLogger(__name__)


@dataclass
class Pair:
    lr: np.ndarray  # (h, w) luma / 255
    hr: np.ndarray  # (scale*h, scale*w) luma / 255
    name: str = ""  # source file
    shrink: float = 1.0  # the HR copy's size relative to the file
    # For degraded training (a `Chain`): the uint8 LR image the luma came from, and the LR of a
    # blurred copy of the HR image, kept so that each epoch can degrade them anew.
    lr_image: np.ndarray | None = None
    lr_blurred: np.ndarray | None = None


def make_pair(hr: np.ndarray, scale: int, name: str = "", shrink: float = 1.0, keep_image: bool = False,
              blur_sigma: float = 0.0) -> Pair:
    """Standard degradation of one uint8 HR image into an (LR, HR) luma pair."""
    hr = modcrop(hr, scale)
    lr = degrade(hr, scale)
    blurred = degrade(to_uint8(gaussian_blur(hr, blur_sigma)), scale) if blur_sigma > 0 else None
    return Pair(luma(lr) / 255.0, luma(hr) / 255.0, name, shrink, lr if keep_image else None, blurred)


def load_pairs(folders, scale: int, downscales=PAPER_DOWNSCALES, chain: Chain | None = None,
               seed: int | None = None) -> list[Pair]:
    """Pairs of every image and its shrunk copies; with a `chain`, ready for `redegrade`.

    The chain's blur acts before the shrink, so it cannot be redrawn each epoch without shrinking
    every HR image again (costlier than the model); each image gets one blurred copy instead,
    with its own sigma, and `redegrade` picks it with the chain's blur probability.
    """
    paths = [p for folder in folders for p in list_images(folder)]
    rng = np.random.default_rng(seed)
    pairs = []
    for path in paths:
        hr = read_rgb_or_gray(path)
        for f in downscales:
            img = hr if f == 1.0 else to_uint8(imresize(hr, f))
            if min(img.shape[:2]) >= scale:
                sigma = rng.uniform(*chain.blur_sigma) if chain and chain.blur_prob > 0 else 0.0
                pairs.append(make_pair(img, scale, path.name, f, keep_image=chain is not None, blur_sigma=sigma))
    return pairs


def redegrade(pairs: list[Pair], chain: Chain, rng: np.random.Generator) -> list[Pair]:
    """New LR luma for every pair: its LR image (or, with the blur probability, its blurred one)
    through the chain's noise and JPEG stages; the HR side is unchanged."""
    out = []
    for p in pairs:
        lr = p.lr_blurred if p.lr_blurred is not None and rng.random() < chain.blur_prob else p.lr_image
        out.append(Pair(luma(apply_chain(lr, chain, rng)) / 255.0, p.hr, p.name, p.shrink, p.lr_image, p.lr_blurred))
    return out


class PatchSampler:
    """Draws batches of (LR patch, HR patch) with random position and random dihedral transform."""

    def __init__(self, pairs: list[Pair], scale: int, patch: int, batch_size: int, seed: int | list[int] | None = None,
                 edge: int = 0):
        self.edge = edge
        pairs = [self._padded(p, scale) for p in pairs]
        self.kept = [i for i, p in enumerate(pairs) if min(p.lr.shape) >= patch]  # indices of `usable`
        usable = [pairs[i] for i in self.kept]
        too_small = sorted(p.name for p in pairs if p.shrink == 1.0 and min(p.lr.shape) < patch)
        if too_small:
            log.warning(
                "%d image(s) are too small for a %dx%d LR patch at x%d and are left out: %s",
                len(too_small), patch, patch, scale,
                ", ".join(too_small[:10]) + (" ..." if len(too_small) > 10 else ""),
            )
        if not usable:
            raise ImageError(
                f"no training image is large enough for a {patch}x{patch} LR patch at x{scale} "
                f"(needs at least {(patch - 2 * edge) * scale}x{(patch - 2 * edge) * scale} HR pixels); "
                "use a smaller --patch"
            )
        self.pairs, self.scale, self.patch, self.batch_size = usable, scale, patch, batch_size
        positions = np.array([(p.lr.shape[0] - patch + 1) * (p.lr.shape[1] - patch + 1) for p in usable], float)
        self.prob = positions / positions.sum()
        self.rng = np.random.default_rng(seed)

    def _padded(self, p: Pair, scale: int) -> Pair:
        if not self.edge:
            return p
        e = self.edge
        return Pair(np.pad(p.lr, e, mode="symmetric"), np.pad(p.hr, e * scale, mode="symmetric"), p.name, p.shrink)

    def replace_lr(self, pairs: list[Pair]) -> None:
        """Swap in new LR planes of the same pairs (same sizes: a fresh degradation each epoch).

        `pairs` are the unpadded pairs this sampler was made from, in the same order; the batch
        thread picks the new list up on its next draw.
        """
        e = self.edge
        self.pairs = [Pair(np.pad(pairs[i].lr, e, mode="symmetric") if e else pairs[i].lr, p.hr, p.name, p.shrink)
                      for i, p in zip(self.kept, self.pairs, strict=True)]

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
