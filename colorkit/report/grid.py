"""gray | predicted | truth image grids."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid

from colorkit.data.lab import lab_to_rgb, rgb_to_lab
from colorkit.files import atomic_write_bytes


def gray_of(rgb: torch.Tensor) -> torch.Tensor:
    """What the network sees: the LAB lightness of ``(B, 3, H, W)`` RGB with ab = 0, as RGB."""
    lab = rgb_to_lab(rgb)
    return lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))


def grid_png(columns: list[torch.Tensor], pad: int = 2) -> bytes:
    """PNG bytes of a grid with one row per image and one column per tensor in ``columns``."""
    rows = torch.stack(columns, dim=1).flatten(0, 1)  # (B * ncols, 3, H, W), row-major
    grid = make_grid(rows.detach().float().clamp(0, 1).cpu(), nrow=len(columns), padding=pad, pad_value=1.0)
    buf = io.BytesIO()
    Image.fromarray((grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype("uint8")).save(buf, format="PNG")
    return buf.getvalue()


def save_sample_grid(path: str | Path, truth: torch.Tensor, pred: torch.Tensor) -> None:
    """Write gray | predicted | truth rows for a batch of RGB images in [0, 1]."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, grid_png([gray_of(truth), pred, truth]))
