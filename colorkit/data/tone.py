"""The tone of an old photo: :func:`classify` tells a scan's kind from its ab (CIE LAB) statistics.

``gray`` (one channel), ``rgb-gray`` (three equal channels: chroma under 3 LAB units in 95 % of
pixels), ``sepia`` or ``tinted`` (the colour is a function of lightness, as toning makes it: within
each of 24 L bins, ab deviates from the bin's mean by under 5 LAB units, root mean square; sepia where
the mean hue lies between red-orange and yellow, 20 to 110 degrees), else ``colour``. Toned prints,
JPEG-compressed at quality 50, measure under 3.1; the six colour sample photos 8.5 to 21.
Whatever the kind, the colouring uses the scan's L only (:func:`to_l`): the tone is dropped, never
mixed with the predicted colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from colorkit.data.lab import join_lab_np, rgb_to_lab_np

GRAY_CHROMA = 3.0
TONED_SPREAD = 5.0
SEPIA_HUES = (20.0, 110.0)
L_BINS = 24


@dataclass(frozen=True)
class Tone:
    """What :func:`classify` found: the kind, the 95th percentile of chroma, the spread of ab at equal
    lightness (root mean square, LAB units) and the chroma-weighted mean hue in degrees."""

    kind: str
    chroma: float
    spread: float
    hue: float


def _thumb(rgb: np.ndarray, side: int = 128) -> np.ndarray:
    img = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    img.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(img)


def classify(rgb: np.ndarray, *, single_channel: bool = False) -> Tone:
    """The kind of an ``(H, W, 3)`` uint8 photo: gray, rgb-gray, sepia, tinted or colour (see the module docstring)."""
    if single_channel:
        return Tone("gray", 0.0, 0.0, 0.0)
    lab = rgb_to_lab_np(_thumb(rgb)).reshape(-1, 3)
    L, ab = lab[:, 0], lab[:, 1:]
    chroma = np.hypot(ab[:, 0], ab[:, 1])
    c95 = float(np.percentile(chroma, 95))
    if c95 < GRAY_CHROMA:
        return Tone("rgb-gray", c95, 0.0, 0.0)
    bins = np.clip((L / 100 * L_BINS).astype(int), 0, L_BINS - 1)
    counts = np.bincount(bins, minlength=L_BINS)[:, None]
    means = np.stack([np.bincount(bins, ab[:, k], minlength=L_BINS) for k in (0, 1)], 1) / np.maximum(counts, 1)
    spread = float(np.sqrt(((ab - means[bins]) ** 2).sum(1).mean()))
    vec = ab.sum(0)  # = sum of C * (cos h, sin h): the chroma-weighted mean hue
    hue = math.degrees(math.atan2(vec[1], vec[0])) % 360
    if spread < TONED_SPREAD:
        kind = "sepia" if SEPIA_HUES[0] <= hue <= SEPIA_HUES[1] else "tinted"
    else:
        kind = "colour"
    return Tone(kind, c95, spread, hue)


def to_l(rgb: np.ndarray) -> np.ndarray:
    """The photo reduced to its L, shown as neutral gray ``(H, W, 3)`` uint8 (what the network sees)."""
    L = rgb_to_lab_np(rgb)[..., 0]
    return (join_lab_np(L, np.zeros(2)) * 255 + 0.5).astype(np.uint8)
