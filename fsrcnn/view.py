"""The detail view's geometry: which pixels a crop shows, what it must be computed from, where it starts.

A crop is a square of output pixels whose top-left corner lies on the LR grid (a multiple of the
scale), so it is the output of whole LR pixels. Computing it needs the LR region plus a margin of
`receptive_radius` pixels on every side: every kept output pixel then sees exactly the input it
sees in the whole-image result, and mirror padding happens only where the region touches the
photo's true border, as it does for the whole image. So a crop equals the same pixels of the full
result, computed from a few thousand LR pixels instead of millions.
"""
from dataclasses import dataclass

import numpy as np

OVERVIEW_WIDTH = 1000  # the overview's longer side, at most
DETAIL = 256  # output pixels per side of a crop at 1:1
ZOOMS = (1, 2)  # screen pixels per output pixel


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Crop:
    """Where one detail crop lies: `out` in output pixels, `lr` the LR pixels it is made from, and
    `context`, the LR pixels (lr plus the margin, clipped to the photo) to run the methods on."""

    out: Box
    lr: Box
    context: Box

    def cut(self, upscaled_context: np.ndarray, scale: int) -> np.ndarray:
        """The crop's pixels out of a method's output for `context`."""
        oy, ox = (self.out.y - self.context.y * scale), (self.out.x - self.context.x * scale)
        return upscaled_context[oy : oy + self.out.h, ox : ox + self.out.w]


def crop_at(centre: tuple[float, float], lr_size: tuple[int, int], scale: int, margin: int,
            zoom: int = 1, side: int = DETAIL) -> Crop:
    """The crop of `side / zoom` output pixels centred as near `centre` (LR x, y) as the photo allows.

    lr_size is (width, height) of the LR image; the crop shrinks to the output's size when that
    is smaller.
    """
    if zoom not in ZOOMS:
        raise ValueError(f"zoom must be one of {ZOOMS}, got {zoom!r}")
    lw, lh = lr_size
    want = side // zoom  # output pixels per side
    ow, oh = min(want, lw * scale), min(want, lh * scale)
    # LR pixels covering the crop, then the crop's corner on the LR grid, kept inside the photo.
    nw, nh = -(-ow // scale), -(-oh // scale)
    lx = int(np.clip(round(centre[0] - nw / 2), 0, lw - nw))
    ly = int(np.clip(round(centre[1] - nh / 2), 0, lh - nh))
    lr = Box(lx, ly, nw, nh)
    x0, y0 = max(lx - margin, 0), max(ly - margin, 0)
    x1, y1 = min(lx + nw + margin, lw), min(ly + nh + margin, lh)
    return Crop(Box(lx * scale, ly * scale, ow, oh), lr, Box(x0, y0, x1 - x0, y1 - y0))


def overview_size(size: tuple[int, int], longest: int = OVERVIEW_WIDTH) -> tuple[int, int]:
    """(width, height) of the overview: the photo shrunk so its longer side is at most `longest`."""
    w, h = size
    k = min(1.0, longest / max(w, h))
    return max(1, round(w * k)), max(1, round(h * k))


def to_photo(point: tuple[float, float], overview: tuple[int, int], photo: tuple[int, int]) -> tuple[float, float]:
    """A point clicked on the overview, in the photo's own pixels (pixel centres map to pixel centres)."""
    return ((point[0] + 0.5) * photo[0] / overview[0], (point[1] + 0.5) * photo[1] / overview[1])


def to_overview(box: Box, overview: tuple[int, int], photo: tuple[int, int]) -> Box:
    kx, ky = overview[0] / photo[0], overview[1] / photo[1]
    x0, y0 = int(box.x * kx), int(box.y * ky)
    x1, y1 = max(x0 + 1, round((box.x + box.w) * kx)), max(y0 + 1, round((box.y + box.h) * ky))
    return Box(x0, y0, x1 - x0, y1 - y0)


def most_detailed(luma: np.ndarray, window: tuple[int, int]) -> tuple[float, float]:
    """Centre (x, y) of the `window` (w, h) of `luma` (a small copy of the photo) with the most
    gradient energy: where enlargement methods differ most, so the view opens where it matters."""
    y = np.asarray(luma, np.float32)
    h, w = y.shape
    ww, wh = max(1, min(window[0], w)), max(1, min(window[1], h))
    energy = np.zeros((h, w), np.float64)
    energy[:, 1:] += np.square(np.diff(y, axis=1))
    energy[1:, :] += np.square(np.diff(y, axis=0))
    # Sum over every window position at once, from the summed-area table.
    table = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = table[wh:, ww:] - table[:-wh, ww:] - table[wh:, :-ww] + table[:-wh, :-ww]
    top, left = np.unravel_index(np.argmax(sums), sums.shape)
    return left + ww / 2, top + wh / 2


def enlarge(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Pixel repetition: each pixel as a factor x factor block (nearest neighbour, exact)."""
    return pixels if factor == 1 else pixels.repeat(factor, 0).repeat(factor, 1)


def mark(overview, box: Box):
    """The overview with the region `box` (in overview pixels) easy to see at any photo size.

    On a large photo the region is a few overview pixels wide: so the rest of the photo is dimmed,
    the box gets an outline whose width follows the overview's size, and guide lines run from it
    to the four edges. Returns a new PIL image.
    """
    from PIL import Image, ImageDraw

    w, h = overview.size
    line = max(2, round(max(w, h) / 250))
    dimmed = Image.eval(overview.convert("RGB"), lambda v: v * 11 // 20)
    marked = dimmed.copy()
    marked.paste(overview.convert("RGB").crop((box.x, box.y, box.x + box.w, box.y + box.h)), (box.x, box.y))
    draw = ImageDraw.Draw(marked)
    cx, cy = box.x + box.w // 2, box.y + box.h // 2
    guide = (255, 210, 0)
    gap = line * 2
    for start, end in (((0, cy), (box.x - gap, cy)), ((box.x + box.w + gap, cy), (w, cy)),
                       ((cx, 0), (cx, box.y - gap)), ((cx, box.y + box.h + gap), (cx, h))):
        if start[0] <= end[0] and start[1] <= end[1]:
            draw.line([start, end], fill=guide, width=max(1, line // 2))
    outer = [box.x - line, box.y - line, box.x + box.w + line - 1, box.y + box.h + line - 1]
    draw.rectangle(outer, outline=guide, width=line)
    return marked
