"""Colour hints: places where the user says what colour the photo was.

A hint model (a recipe with a ``[hints]`` section) takes three more input channels after L and the
preprocessor channels, at the network size: ``hint_a`` and ``hint_b`` (the hint's ab scaled like the
network's output, ``ab / AB_SCALE``, 0 where there is no hint) and ``hint_mask`` (1 where a hint is).
Training draws hints from the truth (:mod:`colorkit.hints.sampler`); at inference they come from a
hints file (:mod:`colorkit.hints.file`), the web page, or the truth (``colorkit evaluate --hints``).
With ``[hints.spread]`` three more channels follow, the hints spread over the regions they fall in
(:mod:`colorkit.hints.spread`). This module is the one place that turns :class:`Hint` objects into
those channels (:func:`render_hints`, then :func:`hint_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from colorkit.data.lab import AB_SCALE
from colorkit.hints.sampler import PointsSampler
from colorkit.hints.spread import SPREAD_CHANNELS, SpreadOptions, spread_hints
from colorkit.hookspecs import hookimpl

HINT_CHANNELS = ("hint_a", "hint_b", "hint_mask")
"""The names of the input channels a hint model adds, in order."""


@dataclass(frozen=True)
class Hint:
    """One hint, independent of the photo's resolution.

    ``x``, ``y``: the point as fractions of the photo's width and height (0 is the left/top edge, 1
    the right/bottom edge; pixel ``px`` is ``(px + 0.5) / width``). ``ab``: the colour in LAB units.
    ``radius``: half the side of the square patch it covers, as a fraction of the network's side (0:
    one network pixel). ``frame``: for video, the frame it is given on (None for a photo).
    """

    x: float
    y: float
    ab: tuple[float, float]
    radius: float = 0.0
    frame: int | None = None


def render_hints(hints: list[Hint] | None, size: int) -> np.ndarray:
    """The hint channels, float32 ``(3, size, size)``, for one photo's ``hints`` (None or []: all zero).

    Each hint fills the square of half-side ``round(radius * size)`` around its network pixel with
    its ab (scaled) and sets the mask there; a later hint overwrites an earlier one where they overlap.
    """
    out = np.zeros((len(HINT_CHANNELS), size, size), np.float32)
    for h in hints or []:
        cx, cy = min(int(h.x * size), size - 1), min(int(h.y * size), size - 1)
        r = int(round(h.radius * size))
        ys, xs = slice(max(cy - r, 0), cy + r + 1), slice(max(cx - r, 0), cx + r + 1)
        out[0, ys, xs] = h.ab[0] / AB_SCALE
        out[1, ys, xs] = h.ab[1] / AB_SCALE
        out[2, ys, xs] = 1.0
    return out


def hint_channels(settings: dict | None) -> tuple[str, ...]:
    """The names of the input channels a model with these ``[hints]`` settings (``meta["hints"]``; None:
    no hints) takes after L and the preprocessor channels."""
    if settings is None:
        return ()
    return HINT_CHANNELS + (SPREAD_CHANNELS if settings.get("spread") is not None else ())


def hint_inputs(L: torch.Tensor, hints: torch.Tensor | None, settings: dict) -> torch.Tensor:
    """The network's hint channels for normalised ``L`` ``(B, 1, H, W)`` and the rendered or sampled
    ``hints`` ``(B, 3, H, W)`` (None: no hint): ``hints`` itself, then the spread channels when
    ``settings`` (``meta["hints"]``) has ``spread``."""
    if hints is None:
        hints = L.new_zeros(L.shape[0], len(HINT_CHANNELS), *L.shape[2:])
    hints = hints.to(L.dtype)
    spread = settings.get("spread")
    return hints if spread is None else torch.cat([hints, spread_hints(L, hints, SpreadOptions(**spread))], 1)


@hookimpl
def colorkit_register_hint_samplers(register):
    register("points", PointsSampler)
