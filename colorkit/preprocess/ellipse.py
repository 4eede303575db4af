"""A dependency-free face prior: a soft ellipse where an aligned face photo has its face."""

from __future__ import annotations

import numpy as np

from colorkit.preprocess.base import Preprocessor


class FaceEllipse(Preprocessor):
    """Soft elliptical face/background prior (no landmarks, no extra dependency).

    Channels ``face`` (1 inside an ellipse centred at ``(cx, cy)`` with radii ``(rx, ry)``, all as
    fractions of the image side, falling to 0 over ``softness`` of the radius) and ``background``
    (``1 - face``). The defaults fit aligned, cropped face photos such as UTKFace's. It does not look
    at the image: the same prior for every photo, so it is never cached.
    """

    channels = ("face", "background")

    def __init__(self, cx: float = 0.5, cy: float = 0.55, rx: float = 0.3, ry: float = 0.38, softness: float = 0.25):
        for key, value in (("cx", cx), ("cy", cy), ("rx", rx), ("ry", ry), ("softness", softness)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"face_ellipse: option '{key}' must be a number, got {value!r}")
        if not (0 < rx <= 1 and 0 < ry <= 1):
            raise ValueError(f"face_ellipse: options 'rx' and 'ry' must be in (0, 1], got {rx!r} and {ry!r}")
        if not 0 < softness <= 1:
            raise ValueError(f"face_ellipse: option 'softness' must be in (0, 1], got {softness!r}")
        self.cx, self.cy, self.rx, self.ry, self.softness = float(cx), float(cy), float(rx), float(ry), float(softness)

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        h, w = np.shape(gray)[:2]
        y = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        x = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w
        r = np.sqrt(((x - self.cx) / self.rx) ** 2 + ((y - self.cy) / self.ry) ** 2)  # 1 on the ellipse
        face = np.clip((1 + self.softness / 2 - r) / self.softness, 0.0, 1.0)
        return np.stack([face, 1.0 - face]).astype(np.float32)
