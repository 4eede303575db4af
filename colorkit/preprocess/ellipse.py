"""A dependency-free face prior: a soft ellipse where an aligned face photo has its face."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from colorkit.contracts import FiniteFloat, OptionsSchema, options_signature, parse_options
from colorkit.preprocess.base import Preprocessor


class FaceEllipseOptions(OptionsSchema):
    """face_ellipse options (see :class:`FaceEllipse`): fractions of the image side."""

    cx: FiniteFloat = 0.5
    cy: FiniteFloat = 0.55
    rx: FiniteFloat = 0.3
    ry: FiniteFloat = 0.38
    softness: Annotated[FiniteFloat, Field(gt=0, le=1)] = 0.25

    @model_validator(mode="after")
    def _radii_in_range(self):
        if not (0 < self.rx <= 1 and 0 < self.ry <= 1):
            raise ValueError(f"options 'rx' and 'ry' must be in (0, 1], got {self.rx!r} and {self.ry!r}")
        return self


class FaceEllipse(Preprocessor):
    """Soft elliptical face/background prior (no landmarks, no extra dependency).

    Channels ``face`` (1 inside an ellipse centred at ``(cx, cy)`` with radii ``(rx, ry)``, all as
    fractions of the image side, falling to 0 over ``softness`` of the radius) and ``background``
    (``1 - face``). The defaults fit aligned, cropped face photos such as UTKFace's. It does not look
    at the image: the same prior for every photo, so it is never cached.
    """

    channels = ("face", "background")

    Options = FaceEllipseOptions

    def __init__(self, **options):
        opts = parse_options("face_ellipse", self.Options, options)
        self.cx, self.cy, self.rx, self.ry, self.softness = (float(v) for v in (opts.cx, opts.cy, opts.rx, opts.ry, opts.softness))

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        h, w = np.shape(gray)[:2]
        y = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        x = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w
        r = np.sqrt(((x - self.cx) / self.rx) ** 2 + ((y - self.cy) / self.ry) ** 2)  # 1 on the ellipse
        face = np.clip((1 + self.softness / 2 - r) / self.softness, 0.0, 1.0)
        return np.stack([face, 1.0 - face]).astype(np.float32)


FaceEllipse.__signature__ = options_signature(FaceEllipseOptions)
