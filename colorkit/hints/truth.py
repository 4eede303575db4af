"""Hints taken from the truth, for measuring what hints buy (``colorkit evaluate --hints 0,1,2,5,10``).

A photo's hint places are a fixed sequence drawn from its file name alone, so every model and every
run gets the same places, whatever the network's size; ``n`` hints are the first ``n`` places of that
sequence (the 5 places are among the 10). Each hint is the mean true ab over a small square around
its place (half-side :data:`PATCH` of the photo's side), given as one network pixel (radius 0), as a
user's click would be.
"""

from __future__ import annotations

import hashlib

import numpy as np

from colorkit.hints import Hint

PATCH = 1 / 128
"""Half the side of the square whose mean true ab a hint gives, as a fraction of the photo's side
(at the evaluation size 256: 2 pixels, a 5 x 5 square)."""


def truth_places(name: str, n: int) -> np.ndarray:
    """``(n, 2)`` places (x, y as fractions of the width and height, in [0, 1)) for the photo named ``name``;
    the first ``n`` of one sequence that depends on ``name`` only."""
    seed = int.from_bytes(hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[:8], "little")
    return np.random.default_rng(seed).random((n, 2))


def truth_hints(true_ab: np.ndarray, name: str, n: int) -> list[Hint]:
    """``n`` hints for the photo named ``name`` from its true ab ``(H, W, 2)`` in LAB units."""
    h, w = true_ab.shape[:2]
    hints = []
    for x, y in truth_places(name, n):
        col, row = int(x * w), int(y * h)
        rx, ry = int(round(PATCH * w)), int(round(PATCH * h))
        patch = true_ab[max(row - ry, 0) : row + ry + 1, max(col - rx, 0) : col + rx + 1]
        a, b = patch.reshape(-1, 2).mean(0)
        hints.append(Hint(x=float(x), y=float(y), ab=(float(a), float(b))))
    return hints
