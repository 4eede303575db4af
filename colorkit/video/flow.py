"""Shared optical-flow helpers (OpenCV Farneback) for stabilisation and the flicker metric."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FlowParams:
    """OpenCV ``calcOpticalFlowFarneback`` parameters (its documented defaults for video)."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2

    def as_dict(self) -> dict:
        return asdict(self)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L (0..100, float32) of an ``(H, W, 3)`` uint8 RGB frame (OpenCV's D65 conversion)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE LAB (float32, L 0..100, a/b in LAB units) of an ``(H, W, 3)`` uint8 RGB frame."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def backward_flow(L_cur: np.ndarray, L_prev: np.ndarray, params: FlowParams = FlowParams()) -> np.ndarray:
    """``(H, W, 2)`` flow: where each pixel of the current frame was in the previous one (in pixels)."""
    import cv2

    a = np.clip(L_cur * 2.55, 0, 255).astype(np.uint8)
    b = np.clip(L_prev * 2.55, 0, 255).astype(np.uint8)
    return cv2.calcOpticalFlowFarneback(a, b, None, params.pyr_scale, params.levels, params.winsize,
                                        params.iterations, params.poly_n, params.poly_sigma, 0)


def warp(prev: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``prev`` (``(H, W)`` or ``(H, W, C)`` float32) moved into the current frame along ``flow``, and the
    mask of pixels whose source lies inside the previous frame."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    warped = cv2.remap(np.ascontiguousarray(prev, dtype=np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return warped, inside
