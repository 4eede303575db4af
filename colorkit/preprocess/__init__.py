"""Preprocessors: extra per-pixel input channels computed from the gray image (face-part masks).

The contract is in :mod:`colorkit.preprocess.base`; :class:`Preprocessors` runs a recipe's list
and caches outputs. The built-in ``face_ellipse`` needs no extra dependency; the landmark-based
``face_parts`` comes from the separate plugin package ``plugins/colorkit-faces`` (mediapipe).
"""

from colorkit.hookspecs import hookimpl
from colorkit.preprocess.base import Preprocessor, gray_u8, install_hint
from colorkit.preprocess.ellipse import FaceEllipse
from colorkit.preprocess.pipeline import Preprocessors

__all__ = ["Preprocessor", "Preprocessors", "FaceEllipse", "gray_u8", "part_weight_map", "install_hint"]


def part_weight_map(extra, channels: list[str], weights: dict[str, float]):
    """``w = 1 + sum_p (weights[p] - 1) * mask_p`` from ``extra`` ``(B, C, H, W)``; returns ``(B, 1, H, W)``."""
    w = extra.new_ones((extra.shape[0], 1, *extra.shape[-2:]))
    for part, weight in weights.items():
        i = channels.index(part)
        w = w + (weight - 1.0) * extra[:, i : i + 1]
    return w.clamp_min(0.0)


@hookimpl
def colorkit_register_preprocessors(register):
    register("face_ellipse", FaceEllipse)
