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


class Stabilizer:
    """Stateful: call :meth:`step` once per frame, in order."""

    def __init__(self, params: StabilizeParams = StabilizeParams()):
        self.params = params
        self.cuts = CutDetector(params.cut_threshold)
        self._L: np.ndarray | None = None
        self._ab: np.ndarray | None = None
        self.cut_frames: list[int] = []
        self.mean_weight: list[float] = []
        self._t = 0

    def reset(self) -> None:
        self._L = self._ab = None

    def step(self, L: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The stabilised ab of the next frame.

        ``L``: ``(h, w)`` float32 lightness (0..100) of the frame at the prediction's resolution;
        ``ab``: ``(h, w, 2)`` float32 predicted ab in LAB units. Returns ``(h, w, 2)`` float32.
        """
        import cv2

        L = np.asarray(L, dtype=np.float32)
        ab = np.asarray(ab, dtype=np.float32)
        if ab.shape[:2] != L.shape or ab.shape[2:] != (2,):
            raise ValueError(f"L {L.shape} and ab {ab.shape} must be (h, w) and (h, w, 2)")
        cut = self.cuts.is_cut(L)
        t, self._t = self._t, self._t + 1
        if cut or self._L is None or self._L.shape != L.shape or self.params.strength == 0:
            if cut and t > 0:
                self.cut_frames.append(t)
            out = ab
            self.mean_weight.append(0.0)
        else:
            flow = backward_flow(L, self._L, self.params.flow)
            prev_ab, inside = warp(self._ab, flow)
            prev_L, _ = warp(self._L, flow)
            residual = cv2.GaussianBlur(np.abs(L - prev_L), (0, 0), 1.0)
            weight = self.params.strength * np.exp(-((residual / self.params.tolerance) ** 2)) * inside
            weight = weight.astype(np.float32)[..., None]
            out = weight * prev_ab + (1 - weight) * ab
            self.mean_weight.append(float(weight.mean()))
        self._L, self._ab = L, out
        return out
