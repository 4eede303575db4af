"""Test clips with known colour, made in code from real colour photos: camera pans, zooms and cuts.

A virtual camera looks at a photo: each frame is the view of a window centred at ``(cx, cy)`` (in
units of the photo's width and height) whose width is ``1 / zoom`` of the photo's, resampled to the
frame size with sub-pixel precision (the photo is pre-blurred to avoid aliasing when the view is
scaled down). Moving the centre pans; changing the zoom zooms. The colour original is every frame
itself, so the truth of a colourised version is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class Shot:
    """A camera move over one photo: start and end ``(cx, cy, zoom)``, linearly interpolated."""

    photo: str
    frames: int
    start: tuple[float, float, float]
    end: tuple[float, float, float]


def view(photo: np.ndarray, size: tuple[int, int], cx: float, cy: float, zoom: float) -> np.ndarray:
    """One frame ``(height, width, 3)`` uint8: the photo seen through the camera (see the module docstring)."""
    import cv2

    ph, pw = photo.shape[:2]
    w, h = size
    view_w = pw / zoom
    scale = w / view_w  # photo pixels -> frame pixels
    src = photo
    if scale < 1:
        src = cv2.GaussianBlur(photo, (0, 0), 0.5 / scale)
    tx = w / 2 - scale * cx * pw
    ty = h / 2 - scale * cy * ph
    m = np.array([[scale, 0, tx], [0, scale, ty]], dtype=np.float64)
    return cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def render(shots: list[Shot], photos: dict[str, np.ndarray], size: tuple[int, int]) -> Iterator[np.ndarray]:
    """The frames of ``shots`` one after the other (a new shot is a cut)."""
    for shot in shots:
        for i in range(shot.frames):
            f = i / max(1, shot.frames - 1)
            cx, cy, zoom = (a + f * (b - a) for a, b in zip(shot.start, shot.end))
            yield view(photos[shot.photo], size, cx, cy, zoom)


def demo_shots(frames: int = 24) -> dict[str, list[Shot]]:
    """The benchmark's clips, each ``frames`` long: a pan over the astronaut, a zoom into Grace Hopper,
    and a pan over the astronaut that cuts to a pan over Grace Hopper halfway."""
    half = frames // 2
    return {
        "pan": [Shot("astronaut", frames, (0.38, 0.36, 1.6), (0.58, 0.40, 1.6))],
        "zoom": [Shot("grace_hopper", frames, (0.5, 0.40, 1.3), (0.5, 0.36, 2.2))],
        "pan_cut": [
            Shot("astronaut", half, (0.40, 0.36, 1.6), (0.50, 0.38, 1.6)),
            Shot("grace_hopper", frames - half, (0.45, 0.38, 1.5), (0.55, 0.38, 1.5)),
        ],
    }


def sample_photos_rgb(names=("astronaut", "grace_hopper")) -> dict[str, np.ndarray]:
    """The embedded public-domain sample photos as RGB arrays (see :mod:`colorkit.data.sample`)."""
    from colorkit.data.images import load_rgb
    from colorkit.data.sample import sample_photos

    paths = sample_photos()
    return {name: load_rgb(paths[name]) for name in names}


def demo_clip(name: str, frames: int = 24, size: tuple[int, int] = (160, 120)) -> list[np.ndarray]:
    """One of :func:`demo_shots`' clips as a list of RGB frames."""
    return list(render(demo_shots(frames)[name], sample_photos_rgb(), size))
