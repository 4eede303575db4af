"""CIE LAB conversion (kornia) and the scaling between raw LAB units and the network's inputs/outputs.

Raw LAB units follow CIE L*a*b* with the D65 white point and the 2-degree observer, exactly as
scikit-image's ``rgb2lab``/``lab2rgb`` (kornia's conversion is a translation of it; the tests check
the two agree to 1e-3 LAB units in float32 and 1e-9 in float64):

- ``L`` in [0, 100];
- ``a`` in [-86.2, 98.2] and ``b`` in [-107.9, 94.5] for colours inside the sRGB gamut.

The network sees ``L`` scaled to [-1, 1] (``L / 50 - 1``) and predicts ab scaled by ``AB_SCALE``.

Torch functions take batches ``(B, 3, H, W)`` (any leading dims work: ``(*, 3, H, W)``) of sRGB in
[0, 1]; the ``*_np`` helpers take single ``(H, W, 3)`` images (uint8 in 0..255 or float in [0, 1])
and compute in float64 with the same kornia code, so there is one implementation of the conversion.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb as _kornia_lab_to_rgb
from kornia.color import rgb_to_lab as _kornia_rgb_to_lab

__all__ = [
    "L_SCALE",
    "L_SHIFT",
    "AB_SCALE",
    "rgb_to_lab",
    "lab_to_rgb",
    "normalize_l",
    "denormalize_l",
    "normalize_ab",
    "denormalize_ab",
    "rgb_to_model_io",
    "join_lab",
    "model_io_to_rgb",
    "to_float_rgb",
    "rgb_to_lab_np",
    "lab_to_rgb_np",
    "join_lab_np",
]

L_SCALE = 50.0
"""``normalize_l(L) = L / L_SCALE - L_SHIFT`` maps L in [0, 100] onto [-1, 1]."""

L_SHIFT = 1.0
"""See :data:`L_SCALE`."""

AB_SCALE = 110.0
"""``normalize_ab(ab) = ab / AB_SCALE``.

110 is the smallest round number above the largest |a| or |b| of any sRGB colour (|b| reaches 107.9
for pure blue; a spans [-86.2, 98.2]). So every displayable colour lies inside [-1, 1], a network
with a tanh output can reach all of them, and little of [-1, 1] is wasted on colours that do not
exist (the nominal range 128 would waste about 15% of it; 100 would put saturated blues out of reach).
"""


# ---------------------------------------------------------------------------------------- torch


def _check_channels(x: torch.Tensor, what: str, channels: int = 3) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 3 or x.shape[-3] != channels:
        raise ValueError(f"{what}: expected shape (*, {channels}, H, W), got {tuple(x.shape)}")


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], ``(*, 3, H, W)`` -> raw LAB ``(*, 3, H, W)``: L in [0, 100], a/b about [-110, 110]."""
    _check_channels(rgb, "rgb_to_lab")
    return _kornia_rgb_to_lab(rgb)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Raw LAB ``(*, 3, H, W)`` -> sRGB ``(*, 3, H, W)``, clamped to [0, 1] unless ``clip=False``.

    Colours outside the sRGB gamut are clamped per channel after the conversion, as scikit-image's
    ``lab2rgb`` does (also a negative Z is clamped to 0 first, silently rather than with a warning).
    """
    _check_channels(lab, "lab_to_rgb")
    return _kornia_lab_to_rgb(lab, clip=clip)


def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """Raw L in [0, 100] -> [-1, 1]: ``L / 50 - 1``."""
    return L / L_SCALE - L_SHIFT


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_l`: ``(l + 1) * 50``."""
    return (l_norm + L_SHIFT) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Raw ab in LAB units -> about [-1, 1]: ``ab / AB_SCALE``."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_ab`: ``ab * AB_SCALE``."""
    return ab_norm * AB_SCALE


def rgb_to_model_io(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB batch ``(B, 3, H, W)`` in [0, 1] -> (network input L ``(B, 1, H, W)``, target ab ``(B, 2, H, W)``).

    Both are normalized: L by :func:`normalize_l`, ab by :func:`normalize_ab`.
    """
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[..., :1, :, :]), normalize_ab(lab[..., 1:, :, :])


def join_lab(L: torch.Tensor, ab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Raw L ``(B, 1, H, W)`` and raw ab ``(B, 2, h, w)`` -> sRGB ``(B, 3, H, W)`` in [0, 1].

    This is the colorize path: the photo's own L at full resolution with the predicted ab. When ab
    is smaller (or larger) than L it is resized to L's size bilinearly (``align_corners=False``).
    Both are raw LAB units; use :func:`model_io_to_rgb` for normalized ones.
    """
    _check_channels(L, "join_lab (L)", 1)
    _check_channels(ab, "join_lab (ab)", 2)
    if ab.shape[-2:] != L.shape[-2:]:
        if ab.ndim != 4:
            raise ValueError(f"join_lab: resizing ab needs (B, 2, h, w), got {tuple(ab.shape)}")
        ab = F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)
    if ab.shape[:-3] != L.shape[:-3]:
        raise ValueError(f"join_lab: L {tuple(L.shape)} and ab {tuple(ab.shape)} differ in batch")
    return lab_to_rgb(torch.cat([L, ab.to(L.dtype)], dim=-3), clip=clip)


def model_io_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Normalized L ``(B, 1, H, W)`` and normalized ab ``(B, 2, h, w)`` -> sRGB, as :func:`join_lab`."""
    return join_lab(denormalize_l(l_norm), denormalize_ab(ab_norm), clip=clip)


# ---------------------------------------------------------------------------------------- numpy


def to_float_rgb(img: np.ndarray) -> np.ndarray:
    """An ``(H, W, 3)`` image as float64 in [0, 1]: uint8 is divided by 255, floats are kept as they are."""
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected a uint8 or float image, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _hwc_to_batch(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).permute(2, 0, 1)[None]


def _batch_to_hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy()


def rgb_to_lab_np(img: np.ndarray) -> np.ndarray:
    """One ``(H, W, 3)`` sRGB image (uint8, or float in [0, 1]) -> raw LAB ``(H, W, 3)`` float64."""
    return _batch_to_hwc(rgb_to_lab(_hwc_to_batch(to_float_rgb(img))))


def lab_to_rgb_np(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """Raw LAB ``(H, W, 3)`` -> sRGB ``(H, W, 3)`` float64 in [0, 1] (clamped unless ``clip=False``)."""
    arr = np.asarray(lab)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) LAB image, got shape {arr.shape}")
    return _batch_to_hwc(lab_to_rgb(_hwc_to_batch(arr), clip=clip))


def join_lab_np(L: np.ndarray, ab: np.ndarray, clip: bool = True) -> np.ndarray:
    """Raw L ``(H, W)`` and raw ab ``(H, W, 2)`` (or one ``(2,)`` ab for every pixel) -> sRGB ``(H, W, 3)``.

    The evaluation protocol's prediction: keep the photo's true L, replace ab.
    """
    L = np.asarray(L, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"expected L of shape (H, W), got {L.shape}")
    ab = np.broadcast_to(np.asarray(ab, dtype=np.float64), L.shape + (2,))
    return lab_to_rgb_np(np.concatenate([L[..., None], ab], axis=-1), clip=clip)
