"""The preprocessor contract: a grayscale image in, extra per-pixel input channels out.

A preprocessor is registered with ``colorkit_register_preprocessors`` as a factory (usually a
subclass of :class:`Preprocessor`) that takes its options as keywords. The object it returns has

- ``channels``: the names of the channels it makes, in order (``("skin", "eyes", ...)``); recipes
  refer to them by name (``part_weights = {eyes = 3}``), so names must be unique within a recipe;
- ``cache_key``: a string naming the implementation and every option that changes the output
  (``"face_parts/v1/max_faces=1"``), or None when it is cheaper to recompute than to read a file;
- ``__call__(gray)``: ``gray`` is one ``(H, W)`` uint8 image, the lightness L* of the photo scaled
  to 0..255 (:func:`gray_u8`) at the network's size; returns float32 ``(len(channels), H, W)`` in
  [0, 1]. It sees the lightness only, because that is all a grayscale photo has at colorization time.

Building one must be cheap and import nothing heavy (recipes are validated by building their
preprocessors to learn the channel names): load models on the first call, once per process.
The optional attributes and their defaults are :class:`colorkit.contracts.PreprocessorContract`'s.
"""

from __future__ import annotations

import numpy as np

from colorkit.contracts import PreprocessorContract
from colorkit.data.lab import rgb_to_lab_np
from colorkit.errors import ColorkitError


class Preprocessor(PreprocessorContract):
    """Base class of preprocessors: subclasses set ``channels`` and ``cache_key`` (defaults:
    :class:`colorkit.contracts.PreprocessorContract`) and implement ``__call__``."""

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def gray_u8(rgb: np.ndarray) -> np.ndarray:
    """The gray image a preprocessor sees: CIE L* of an ``(H, W, 3)`` uint8 RGB photo, as uint8 0..255.

    It is the lightness the network gets as its L input (before scaling), in training (from the
    colour photo) and when colorizing (from the gray photo), so both see one image.
    """
    L = rgb_to_lab_np(np.asarray(rgb))[..., 0]
    return np.clip(L * 2.55 + 0.5, 0, 255).astype(np.uint8)


def check_output(name: str, out, shape: tuple[int, int], n_channels: int) -> np.ndarray:
    """A preprocessor's output as float32 ``(C, H, W)``; a wrong shape or range is a ColorkitError naming it."""
    arr = np.asarray(out, dtype=np.float32)
    if arr.shape != (n_channels, *shape):
        raise ColorkitError(f"preprocessor '{name}' returned shape {arr.shape}; expected {(n_channels, *shape)} (its channels x H x W)")
    if not np.isfinite(arr).all() or arr.min(initial=0.0) < 0.0 or arr.max(initial=0.0) > 1.0:
        raise ColorkitError(f"preprocessor '{name}' returned values outside [0, 1]")
    return arr


PLUGIN_PACKAGES = {
    "face_parts": "pip install -e plugins/colorkit-faces (mediapipe 0.10.21, needs numpy<2: docs/faces.md)",
}
"""Preprocessors that colorkit's own plugin packages provide, and how to install them."""


def install_hint(name: str) -> str:
    """A sentence saying how to install ``name`` where one of colorkit's plugin packages provides it, else ""."""
    return f" '{name}' comes from a plugin package; install it with: {PLUGIN_PACKAGES[name]}" if name in PLUGIN_PACKAGES else ""
