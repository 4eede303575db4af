"""Colour videos: streamed decode and encode with the audio copied (:mod:`.io`), flow-based temporal
stabilisation (:mod:`.stabilize`), scene cuts (:mod:`.cuts`), the flicker metric (:mod:`.flicker`),
generated test clips with known colour (:mod:`.synthetic`) and the colorize/evaluate loops
(:mod:`.pipeline`).

PyAV and OpenCV are an optional extra: ``pip install "colorkit[video]"``. Importing this package
needs neither; :func:`require` turns their absence into one clear line.
"""

from __future__ import annotations

import importlib.util

from colorkit.data.images import VIDEO_EXTENSIONS, is_video_name
from colorkit.errors import ColorkitError

__all__ = ["VIDEO_EXTENSIONS", "MissingVideoExtra", "is_video_name", "require"]


class MissingVideoExtra(ColorkitError):
    """PyAV or OpenCV is not installed."""


def require() -> None:
    """Raise one clear line when the ``video`` extra (PyAV, OpenCV) is missing."""
    missing = [pkg for mod, pkg in (("av", "av"), ("cv2", "opencv-python-headless")) if importlib.util.find_spec(mod) is None]
    if missing:
        raise MissingVideoExtra(
            f"video needs {' and '.join(missing)}: install colorkit[video] (pip install \"colorkit[video]\")"
        )
