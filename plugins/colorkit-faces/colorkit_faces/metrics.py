"""Evaluation metrics inside face parts: the ab error on the lips and on the eyes.

Masks come from ``face_parts`` on the true photo's gray at the evaluation size (the protocol's
256 px), so every model is measured on the same pixels; a photo without a found face scores
``nan``, which ``colorkit evaluate`` leaves out of that metric's mean. Lower is better (0 for the
truth itself); ``colorkit compare`` bolds the lowest and plots them (their ``MetricInfo``).
"""

from __future__ import annotations

import functools

import numpy as np

from colorkit.data.lab import rgb_to_lab_np, to_float_rgb
from colorkit.metric_info import metric
from colorkit.metrics import masked_ab_error
from colorkit.preprocess import gray_u8
from colorkit_faces.face_parts import PARTS, FaceParts

_FACE_PARTS = FaceParts()
_CACHED = 8


@functools.lru_cache(maxsize=_CACHED)
def _masks(gray_bytes: bytes, shape: tuple[int, int]) -> np.ndarray:
    return _FACE_PARTS(np.frombuffer(gray_bytes, np.uint8).reshape(shape))


def part_masks(true: np.ndarray) -> np.ndarray:
    """``face_parts`` channels of a true photo (float RGB in [0, 1] or uint8), memoised for the last few photos."""
    rgb = np.round(to_float_rgb(true) * 255).astype(np.uint8)
    gray = gray_u8(rgb)
    return _masks(gray.tobytes(), gray.shape)


def _part_error(part: str):
    index = PARTS.index(part)

    @metric(better="low", unit="LAB ab units", fmt=".2f", label=f"{part} ab error", plot=True, perfect=0.0)
    def error(pred: np.ndarray, true: np.ndarray, *, pred_ab: np.ndarray | None = None, true_ab: np.ndarray | None = None) -> float:
        if pred_ab is None:
            pred_ab = rgb_to_lab_np(to_float_rgb(pred))[..., 1:]
        if true_ab is None:
            true_ab = rgb_to_lab_np(to_float_rgb(true))[..., 1:]
        return masked_ab_error(pred_ab, true_ab, part_masks(true)[index])

    error.__name__ = f"{part}_ab_error"
    error.__doc__ = f"Mean ab distance (LAB units) inside the {part} mask of face_parts; nan without a face."
    return error


lips_ab_error = _part_error("lips")
eyes_ab_error = _part_error("eyes")
