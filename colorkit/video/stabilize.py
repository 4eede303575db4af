"""Temporal stabilisation of predicted ab: carry the previous frame's colour along the motion.

A network that colours each frame alone flickers: small changes in the gray frame (noise, a pan by a
pixel) move its ab prediction more than the scene changed. For each frame ``t``, at the network's
resolution (where the ab prediction lives):

1. **Cut?** If the L histogram differs from the previous frame's by more than ``cut_threshold``
   (:mod:`colorkit.video.cuts`), the shot changed: take the new prediction as it is and start over.
2. **Flow.** Dense optical flow (OpenCV Farneback, :class:`~colorkit.video.flow.FlowParams`) from
   frame ``t``'s L to frame ``t-1``'s: where each pixel was in the previous frame.
3. **Warp.** The previous *output* ab and the previous L are sampled along the flow into frame ``t``.
4. **Trust.** How well the flow explains the change in L: the residual ``r = |L_t - warp(L_{t-1})|``
   (L units, smoothed with a Gaussian of 1 pixel). The weight of the past is
   ``w = strength * exp(-(r / tolerance) ** 2)``, and 0 where the flow points outside the frame.
   Where the flow is right (same surface, same lightness) the past dominates; where it fails
   (occlusion, a new object, lighting change) the new prediction does.
5. **Blend.** ``ab_t = w * warp(ab_{t-1}) + (1 - w) * prediction_t``.

So each pixel's colour is an exponential moving average along its motion path, with a memory of
about ``1 / (1 - strength)`` frames (about 7 at the default 0.85). Larger ``strength``: steadier,
but slower to follow real colour changes; larger ``tolerance``: trusts the flow in more places.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from colorkit.video.cuts import DEFAULT_THRESHOLD, CutDetector
from colorkit.video.flow import FlowParams, backward_flow, warp


@dataclass(frozen=True)
class StabilizeParams:
    """The stabiliser's parameters (see the module docstring)."""

    strength: float = 0.85
    """Largest weight of the warped past colour, in [0, 1): 0 turns stabilisation off."""
    tolerance: float = 4.0
    """L residual (LAB units) at which trust in the flow has fallen to 1/e."""
    cut_threshold: float = DEFAULT_THRESHOLD
    """Bhattacharyya distance of consecutive L histograms above which a new shot starts."""
    flow: FlowParams = field(default_factory=FlowParams)

    def __post_init__(self):
        if not 0 <= self.strength < 1:
            raise ValueError(f"strength must be in [0, 1), got {self.strength}")
        if self.tolerance <= 0:
            raise ValueError(f"tolerance must be positive, got {self.tolerance}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Motion:
    """How frame ``t`` follows the frame before it, at the prediction's resolution (:meth:`Tracker.track`)."""

    t: int
    cut: bool
    """Frame ``t`` starts a new shot (the first frame does too)."""
    flow: np.ndarray | None = None
    """``(h, w, 2)`` backward flow: where each pixel was in frame ``t - 1``; None where nothing carries over
    (a cut, the first frame, a change of size)."""
    trust: np.ndarray | None = None
    """``(h, w)`` float32 in [0, 1]: ``exp(-(r / tolerance) ** 2)`` where the flow's source lies inside
    frame ``t - 1``, else 0 (steps 4 of the module docstring, without ``strength``)."""


class Tracker:
    """Cuts, flow and trust of consecutive frames (steps 1, 2 and 4): call :meth:`track` once per frame,
    in order. The stabiliser and the hint carrier (:mod:`colorkit.video.hints`) share one, so the flow
    of each frame is computed once."""

    def __init__(self, params: StabilizeParams = StabilizeParams()):
        self.params = params
        self.cuts = CutDetector(params.cut_threshold)
        self.cut_frames: list[int] = []
        self._L: np.ndarray | None = None
        self._t = 0

    def reset(self) -> None:
        self._L = None

    def track(self, L: np.ndarray, flow: bool = True) -> Motion:
        """The motion from the previous frame to this one; ``L``: ``(h, w)`` float32 lightness (0..100).
        ``flow=False``: cuts only (the costly flow is left out when nothing would use it)."""
        import cv2

        L = np.asarray(L, dtype=np.float32)
        cut = self.cuts.is_cut(L)
        t, self._t = self._t, self._t + 1
        prev, self._L = self._L, L
        if cut and t > 0:
            self.cut_frames.append(t)
        if cut or not flow or prev is None or prev.shape != L.shape:
            return Motion(t, cut)
        flow = backward_flow(L, prev, self.params.flow)
        prev_L, inside = warp(prev, flow)
        residual = cv2.GaussianBlur(np.abs(L - prev_L), (0, 0), 1.0)
        trust = (np.exp(-((residual / self.params.tolerance) ** 2)) * inside).astype(np.float32)
        return Motion(t, cut, flow, trust)


class Stabilizer:
    """Stateful: call :meth:`step` once per frame, in order (or :meth:`blend` with its tracker's motion)."""

    def __init__(self, params: StabilizeParams = StabilizeParams(), tracker: Tracker | None = None):
        self.params = params
        self.tracker = tracker or Tracker(params)
        self._ab: np.ndarray | None = None
        self.mean_weight: list[float] = []

    @property
    def cut_frames(self) -> list[int]:
        """The frames (after the first) that started a new shot."""
        return self.tracker.cut_frames

    def reset(self) -> None:
        self.tracker.reset()
        self._ab = None

    def step(self, L: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The stabilised ab of the next frame.

        ``L``: ``(h, w)`` float32 lightness (0..100) of the frame at the prediction's resolution;
        ``ab``: ``(h, w, 2)`` float32 predicted ab in LAB units. Returns ``(h, w, 2)`` float32.
        """
        if np.shape(ab)[:2] != np.shape(L) or np.shape(ab)[2:] != (2,):
            raise ValueError(f"L {np.shape(L)} and ab {np.shape(ab)} must be (h, w) and (h, w, 2)")
        return self.blend(self.tracker.track(L, flow=self.params.strength > 0), ab)

    def blend(self, motion: Motion, ab: np.ndarray) -> np.ndarray:
        """Steps 3 and 5: the previous output warped along ``motion`` and blended with ``ab`` (the
        prediction of frame ``motion.t``, ``(h, w, 2)`` float32); frames must come in order."""
        ab = np.asarray(ab, dtype=np.float32)
        if motion.flow is None or self._ab is None or self._ab.shape != ab.shape or self.params.strength == 0:
            out = ab
            self.mean_weight.append(0.0)
        else:
            prev_ab, _ = warp(self._ab, motion.flow)
            weight = (self.params.strength * motion.trust)[..., None]
            out = weight * prev_ab + (1 - weight) * ab
            self.mean_weight.append(float(weight.mean()))
        self._ab = out
        return out
