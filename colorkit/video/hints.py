"""Colour hints in a video: hints given on a keyframe carry to the following frames along the motion.

A hint given on frame ``k`` (its ``frame``; a hint without one is given on frame 0) applies from frame
``k`` on. On each following frame its point moves with the backward flow the stabiliser already
computed (:class:`~colorkit.video.stabilize.Tracker`); its colour and radius stay. It ends:

- at the next scene cut (or wherever nothing carries over from the previous frame);
- when its point leaves the frame;
- when the flow at its point is unreliable: the stabiliser's trust (``exp(-(r / tolerance) ** 2)``,
  ``r`` the L residual of the warp), averaged over the hint's patch (at least 3 x 3 network pixels),
  falls under ``min_trust`` (an occlusion, a new object).

Hints of a later keyframe add to those carried; a new hint replaces any carried hint whose point lies
within ``replace_within`` (a fraction of the width and of the height, plus both radii) of its own: the
user's latest word on that place wins.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import numpy as np

from colorkit.hints import Hint
from colorkit.video.io import VideoError
from colorkit.video.stabilize import Motion

MIN_TRUST = 0.25
"""Mean trust over a hint's patch under which its point is no longer followed."""
REPLACE_WITHIN = 0.05
"""A keyframe's hint replaces carried hints this close (fraction of width and of height, plus radii)."""
FIXED_POINT_STEPS = 4
"""Iterations inverting the backward flow at a point (the flow is smooth: 2-3 are already exact to 0.01 px)."""


def keyframe(hint: Hint) -> int:
    """The frame a hint is given on (0 when it has none)."""
    return 0 if hint.frame is None else hint.frame


class HintCarrier:
    """The hints of every frame of one video, in order: :meth:`step` once per frame with its motion.

    ``hints``: every hint of the video, each on its keyframe (``Hint.frame``); ``source``: where they
    came from (a hints file), for messages.
    """

    def __init__(self, hints: Iterable[Hint], source: str = "hints", *, min_trust: float = MIN_TRUST,
                 replace_within: float = REPLACE_WITHIN):
        self.hints = list(hints)
        self.source = source
        self.min_trust, self.replace_within = min_trust, replace_within
        self.keyframes: dict[int, list[Hint]] = {}
        for h in self.hints:
            self.keyframes.setdefault(keyframe(h), []).append(h)
        self.active: list[Hint] = []
        self.counts: list[int] = []
        """How many hints applied to each frame so far."""

    def __bool__(self) -> bool:
        return bool(self.hints)

    def check_length(self, frames: int, video: str) -> None:
        """A VideoError naming the hints file, the first hint past the end (``hints[i]``, counted from 0,
        as in the file) and ``video``'s frame count, when a keyframe is not among ``frames`` frames."""
        for i, h in enumerate(self.hints):
            if keyframe(h) >= frames:
                raise VideoError(self.source, f"hints[{i}]: frame {keyframe(h)} is past the end of {video}, "
                                              f"which has {frames} frames (0 to {frames - 1})")

    def step(self, motion: Motion) -> list[Hint]:
        """The hints of frame ``motion.t``: those carried from the previous frame, moved, plus its keyframe hints."""
        if motion.flow is None:
            self.active = []
        else:
            self.active = [m for h in self.active if (m := self._moved(h, motion)) is not None]
        new = self.keyframes.get(motion.t, [])
        if new:
            self.active = [h for h in self.active if not any(self._near(h, n) for n in new)] + new
        self.counts.append(len(self.active))
        return list(self.active)

    def _near(self, old: Hint, new: Hint) -> bool:
        reach = self.replace_within + old.radius + new.radius
        return abs(old.x - new.x) <= reach and abs(old.y - new.y) <= reach

    def _moved(self, hint: Hint, motion: Motion) -> Hint | None:
        """``hint`` moved from frame ``t - 1`` into frame ``t``, or None when it ends there."""
        flow = motion.flow
        h, w = flow.shape[:2]
        px, py = hint.x * w - 0.5, hint.y * h - 0.5  # pixel coordinates in frame t-1
        qx, qy = px, py
        for _ in range(FIXED_POINT_STEPS):  # the point q of frame t whose backward flow leads to p
            fx, fy = _bilinear(flow, qx, qy)
            qx, qy = px - fx, py - fy
        x, y = (qx + 0.5) / w, (qy + 0.5) / h
        if not (0 <= x < 1 and 0 <= y < 1):
            return None
        r = max(1, round(hint.radius * max(h, w)))
        cx, cy = int(round(qx)), int(round(qy))
        patch = motion.trust[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1]
        if float(patch.mean()) < self.min_trust:
            return None
        return replace(hint, x=float(x), y=float(y))


def _bilinear(image: np.ndarray, x: float, y: float) -> np.ndarray:
    """``image[y, x]`` interpolated bilinearly, the point clamped to the image."""
    h, w = image.shape[:2]
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(x), w - 2) if w > 1 else 0, min(int(y), h - 2) if h > 1 else 0
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy
