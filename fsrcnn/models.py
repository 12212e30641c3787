"""The model registry: every weight variant defined once, and the bank of those installed.

A variant is one kind of weight file per scale: its name, its file, its name for people, the
recipe that trains it, and the bands of evidence in which "auto" gives it a photo (quality.py
measures the evidence: a JPEG's quality, a lossless file's colour noise). Adding a variant is one
entry in VARIANTS and a recipe in fsrcnn/recipes/.

Where a variant is not installed, its band goes to its installed neighbours, split at `*_split`
(below it to the variant of the band below, from it to the one above). The bands are set where
one file starts to beat the other on the validation photos (Photos24; weights/README.md gives the
measurement).

`Bank`: which (variant, scale) files are installed; the Upscaler, quality, the app, evaluate
and the command line all ask it, and only it, what may run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

SCALES = (2, 3, 4)
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
AUTO = "auto"


@dataclass(frozen=True)
class Variant:
    name: str  # as the command line, the app and the API take it
    pattern: str  # the weight file, with {scale}
    display: str  # in reports: "photo model"
    recipe: str | None  # fsrcnn/recipes/<recipe>, with {scale}; None: the standard training (train's defaults)
    jpeg: tuple[float, float]  # JPEG qualities [low, high) auto gives it
    noise: tuple[float, float]  # colour noise (σ of Cb/Cr, 0..255) of lossless files [low, high) auto gives it
    photo: bool = False  # trained on degraded photos: one of what "photo" may mean
    jpeg_split: float | None = None  # where its JPEG band splits when it is missing (default: its low end)
    noise_split: float | None = None

    def file(self, scale: int) -> str:
        return self.pattern.format(scale=scale)


CLEAN = Variant("clean", "fsrcnn_x{scale}.keras", "clean model", None, jpeg=(96, math.inf), noise=(0, 1.8))
PHOTO = Variant("photo", "fsrcnn_photo_x{scale}.keras", "photo model", "photo_x{scale}.toml",
                jpeg=(0, 80), noise=(2.6, math.inf), photo=True)
# JPEGs of high quality and moderate colour noise (Photos24: better than photo at σ 5 per RGB
# channel, about 2.2 here, and not at σ 8, about 3.4). Without it, JPEGs split between photo and
# clean at 90, where those two tie, and noisy files go to photo.
LIGHT = Variant("light", "fsrcnn_photo_light_x{scale}.keras", "light photo model", "photo_light_x{scale}.toml",
                jpeg=(80, 96), noise=(1.8, 2.6), photo=True, jpeg_split=90)
VARIANTS = {v.name: v for v in (CLEAN, PHOTO, LIGHT)}  # clean first: it is required
PHOTO_VARIANTS = tuple(name for name, v in VARIANTS.items() if v.photo)  # what "photo" may mean
REQUESTS = (AUTO, CLEAN.name, PHOTO.name)  # what a user can ask for


def find(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}: use {' or '.join(VARIANTS)}")
    return VARIANTS[name]


def weights_path(scale: int, weights_dir: str | Path | None = None, variant: str = "clean") -> Path:
    return Path(weights_dir or WEIGHTS_DIR) / find(variant).file(scale)


def band_of(axis: str, value: float) -> str:
    """The variant whose band on `axis` ("jpeg" or "noise") holds `value`, installed or not."""
    for v in VARIANTS.values():
        low, high = getattr(v, axis)
        if low <= value < high:
            return v.name
    return CLEAN.name


def resolve(wanted: str, installed, axis: str | None = None, value: float | None = None) -> str | None:
    """`wanted` if installed, else the installed variant its band goes to (see the module's doc);
    None when that is clean only because the photo variants on the way are not installed."""
    if wanted in installed:
        return wanted
    if axis is None or value is None:  # evidence without a band (gray noise): any photo variant
        return next((n for n in PHOTO_VARIANTS if n in installed), None)
    order = sorted(VARIANTS.values(), key=lambda v: getattr(v, axis)[0])
    i = next(k for k, v in enumerate(order) if v.name == wanted)
    split = getattr(order[i], f"{axis}_split")
    up = value >= (getattr(order[i], axis)[0] if split is None else split)
    below, above = order[:i][::-1], order[i + 1 :]
    walk = (above + below) if up else (below + above)
    for v in walk:
        if v.name in installed:
            # Clean only because the photo variants the band leads to are missing: say so (None).
            return None if v.name == CLEAN.name and walk[0].name != CLEAN.name else v.name
    return None


def check_request(requested, installed, scale: int | None = None) -> str:
    """auto, clean or photo (any case); photo only where a photo variant is among `installed`."""
    value = str(requested if requested is not None else AUTO).strip().lower()
    if value not in REQUESTS:
        raise ValueError(f"model must be one of {', '.join(REQUESTS)}, got {requested!r}")
    if value == PHOTO.name and not any(VARIANTS[n].photo for n in installed):
        where = "" if scale is None else f" for x{scale}"
        raise ValueError(f"the photo model is not installed{where} "
                         f"(weights/{PHOTO.file('*' if scale is None else scale)}): choose auto or clean")
    return value


class Bank:
    """The weight files installed, as (variant, scale) pairs: what may run, per scale."""

    def __init__(self, pairs, paths: dict | None = None):
        self.pairs = frozenset((str(v), int(s)) for v, s in pairs)
        for v, _ in self.pairs:
            find(v)
        self.paths = dict(paths or {})  # (variant, scale) -> file, for a bank read from a folder

    @classmethod
    def scan(cls, scales=SCALES, weights_dir=None, names=tuple(VARIANTS)) -> Bank:
        """The files of `names` in `weights_dir` for `scales`; clean is always listed (its loading
        then says clearly when it is missing), the others only when their file exists."""
        paths = {}
        for name in names:
            for scale in scales:
                path = weights_path(scale, weights_dir, name)
                if name == CLEAN.name or path.exists():
                    paths[name, scale] = path
        return cls(paths, paths)

    def __contains__(self, pair) -> bool:
        return tuple(pair) in self.pairs

    @property
    def scales(self) -> tuple[int, ...]:
        return tuple(sorted({s for _, s in self.pairs}))

    def installed(self, scale: int | None = None) -> tuple[str, ...]:
        """The variants installed (for `scale`, or for any scale), in registry order."""
        return tuple(n for n in VARIANTS if any(v == n and scale in (None, s) for v, s in self.pairs))

    def photo(self, scale: int | None = None) -> tuple[str, ...]:
        """The photo variants installed (for `scale`, or for any scale)."""
        return tuple(n for n in self.installed(scale) if VARIANTS[n].photo)

    def photo_scales(self) -> tuple[int, ...]:
        return tuple(s for s in self.scales if self.photo(s))

    def check_request(self, requested, scale: int | None = None) -> str:
        """check_request among the variants installed for `scale` (or for any scale)."""
        return check_request(requested, self.installed(scale), scale)

    def check(self, name: str, scale: int) -> None:
        """A ValueError naming the missing file unless (name, scale) is installed."""
        if scale not in self.scales:
            raise ValueError(f"scale must be one of {', '.join(f'x{s}' for s in self.scales)}, got {scale!r}")
        v = find(name)
        if (name, scale) not in self.pairs:
            loaded = ", ".join(self.installed(scale))
            raise ValueError(f"the {name} model for x{scale} is not loaded (its weight file "
                             f"{v.file(scale)} is missing); loaded: {loaded}")
