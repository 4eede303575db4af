"""16-bit scans: the full-precision L of a 16-bit file (:func:`read_l16`), and that L joined with
predicted ab as 16-bit RGB (:func:`join_l16`).

16-bit gray is read through Pillow (``I;16``), 16-bit RGB TIFF through tifffile, 16-bit RGB PNG
through OpenCV where ``opencv-python-headless`` is installed (without it such a PNG counts as 8-bit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.metadata import Metadata, read_metadata


_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.swapaxes(a, 0, 1)[::-1],
}


def read_l16(path: str | Path, meta: Metadata | None = None) -> np.ndarray | None:
    """The full-precision L (0..100, float32, upright) of a 16-bit scan, or ``None`` for an 8-bit one.

    16-bit gray through Pillow; 16-bit RGB TIFF through tifffile, 16-bit RGB PNG through OpenCV
    (where ``opencv-python-headless`` is installed; without it such a PNG counts as 8-bit).
    """
    from colorkit.data.lab import rgb_to_lab

    path = Path(path)
    meta = meta or read_metadata(path)
    if meta.bits != 16:
        return None
    rgb = None
    if meta.mode.startswith("I"):
        with Image.open(path) as img:
            gray = np.asarray(img, dtype=np.float32) / 65535.0
        rgb = np.repeat(gray[..., None], 3, axis=2)
    elif path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        arr = tifffile.imread(path)
        if arr.ndim == 3 and arr.shape[-1] >= 3 and arr.dtype == np.uint16:
            rgb = arr[..., :3].astype(np.float32) / 65535.0
    else:
        try:
            import cv2
        except ImportError:
            return None
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.ndim == 3 and arr.dtype == np.uint16:
            rgb = arr[..., 2::-1].astype(np.float32) / 65535.0 if arr.shape[-1] == 3 else arr[..., [2, 1, 0]].astype(np.float32) / 65535.0
    if rgb is None:
        return None
    if meta.orientation in _ORIENT:
        rgb = _ORIENT[meta.orientation](rgb)
    import torch

    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0, 0].numpy()


def join_l16(L: np.ndarray, ab, device=None) -> np.ndarray:
    """Full-resolution float ``L`` joined with ``ab`` (``(1, 2, h, w)`` tensor, upsampled bilinearly)
    as ``(H, W, 3)`` uint16 RGB."""
    import torch
    import torch.nn.functional as F

    from colorkit.data.lab import lab_to_rgb

    Lt = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32))[None, None].to(ab.device)
    ab = ab.float()
    if ab.shape[-2:] != Lt.shape[-2:]:
        ab = F.interpolate(ab, size=Lt.shape[-2:], mode="bilinear", align_corners=False)
    rgb = lab_to_rgb(torch.cat([Lt, ab], 1))[0].permute(1, 2, 0).clamp(0, 1)
    return (rgb * 65535 + 0.5).to(torch.int32).cpu().numpy().astype(np.uint16)
