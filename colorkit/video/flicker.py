"""The flicker metric: mean ab change between consecutive frames after motion compensation.

For frames ``t-1`` and ``t`` of a coloured video (each scaled with area averaging so its long side
is at most ``max_side``, 256 by default):

1. dense flow (OpenCV Farneback, default :class:`~colorkit.video.flow.FlowParams`) from ``t``'s L
   to ``t-1``'s; ``t-1``'s LAB is warped into frame ``t`` along it;
2. a pixel counts where its source is inside frame ``t-1`` and the flow explains the lightness
   (``|L_t - warp(L_{t-1})| < l_tolerance``, 8 L units by default): occlusions and flow failures
   are left out rather than counted as flicker;
3. the pair's flicker is the mean over those pixels of ``sqrt(da**2 + db**2)`` in LAB units;
4. pairs across a scene cut (:mod:`colorkit.video.cuts`) are skipped; the video's flicker is the mean
   over the remaining pairs.

0 means every surface keeps its colour exactly as it moves. A real colour video scores above 0 too
(compression, flow errors at edges, real colour changes), so compare a coloured video with its
colour original's own score, which :class:`FlickerMeter` computes the same way.

Several versions of one clip (per-frame, stabilised, the truth) share their L, so one meter measures
them together with one flow per frame pair: the flow is computed on the L given to :meth:`FlickerMeter.add`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from colorkit.video.cuts import DEFAULT_THRESHOLD, CutDetector
from colorkit.video.flow import FlowParams, backward_flow, lab, warp

MAX_SIDE = 256
L_TOLERANCE = 8.0


def measuring_size(width: int, height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(width, height) the metric works at: the frame scaled so its long side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(8, round(width * scale)), max(8, round(height * scale))


def shrink(rgb: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    size = measuring_size(w, h, max_side)
    return rgb if size == (w, h) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


@dataclass
class FlickerMeter:
    """Flicker of several named versions of one clip, measured together (see the module docstring)."""

    max_side: int = MAX_SIDE
    l_tolerance: float = L_TOLERANCE
    cut_threshold: float = DEFAULT_THRESHOLD
    flow: FlowParams = field(default_factory=FlowParams)
    per_pair: dict[str, list[float]] = field(default_factory=dict)
    cuts: list[int] = field(default_factory=list)

    def __post_init__(self):
        self._det = CutDetector(self.cut_threshold)
        self._prev_L: np.ndarray | None = None
        self._prev_ab: dict[str, np.ndarray] = {}
        self._t = 0

    def add(self, frames: dict[str, np.ndarray], reference: np.ndarray | None = None) -> None:
        """The next frame of each version (``(H, W, 3)`` uint8 RGB). The flow and cuts come from
        ``reference``'s L (the source frame), else from the first version's."""
        small = {name: lab(shrink(rgb, self.max_side)) for name, rgb in frames.items()}
        L = lab(shrink(reference, self.max_side))[..., 0] if reference is not None else next(iter(small.values()))[..., 0]
        cut = self._det.is_cut(L)
        t, self._t = self._t, self._t + 1
        if cut and t > 0:
            self.cuts.append(t)
        if not cut and self._prev_L is not None:
            flow = backward_flow(L, self._prev_L, self.flow)
            prev_L, inside = warp(self._prev_L, flow)
            valid = inside & (np.abs(L - prev_L) < self.l_tolerance)
            for name, cur in small.items():
                if name not in self._prev_ab:
                    continue
                prev_ab, _ = warp(self._prev_ab[name], flow)
                change = np.sqrt(((cur[..., 1:] - prev_ab) ** 2).sum(-1))
                self.per_pair.setdefault(name, []).append(float(change[valid].mean()) if valid.any() else 0.0)
        self._prev_L = L
        self._prev_ab = {name: lab_img[..., 1:].copy() for name, lab_img in small.items()}

    def result(self) -> dict[str, float]:
        """Mean flicker per version (NaN where no frame pair could be measured)."""
        return {name: float(np.mean(v)) if v else float("nan") for name, v in self.per_pair.items()}


def video_flicker(frames, max_side: int = MAX_SIDE) -> float:
    """Flicker of one sequence of RGB frames (any iterable: a list, or :func:`colorkit.video.io.read_frames`)."""
    meter = FlickerMeter(max_side=max_side)
    for rgb in frames:
        meter.add({"video": rgb})
    return meter.result().get("video", float("nan"))
