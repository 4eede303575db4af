"""gray | predicted | truth image grids."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid

from colorkit.engine.files import atomic_write_bytes


def gray_of(rgb: torch.Tensor) -> torch.Tensor:
    """The lightness-only version of ``(B, 3, H, W)`` RGB, as RGB (ITU-R 601 luma)."""
    w = torch.tensor([0.299, 0.587, 0.114], device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True).expand_as(rgb)


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
