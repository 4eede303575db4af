"""Hints spread over the photo: each pixel gets the colour of the hints near it in place and in lightness.

A network reads a sparse hint map slowly: at the UTKFace recipe's budget (30,000 images) it had only
begun to carry a hint's colour over the region it falls in. ``[hints.spread]`` gives it that region
for free, as three more input channels after the hint channels: the hints' ab averaged with the
weights ``exp(-d^2 / 2 sigma^2 - dL^2 / 2 sigma_l^2)`` of a bilateral filter (``d``: the distance in
pixels, ``dL``: the difference in lightness between the pixel and the hint), and how much hint
weight reached the pixel. The sum runs over every hinted pixel; it is computed on a bilateral grid
(Chen, Paris and Durand, "Real-time edge-aware image processing with the bilateral grid", 2007):
splat the hints into cells of half a sigma in x, y and L, blur the grid, read it back trilinearly,
so the cost is one pass over the pixels whatever the number of hints.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field

from colorkit.contracts import FiniteFloat, OptionsSchema

SPREAD_CHANNELS = ("spread_a", "spread_b", "spread_weight")
"""The channels ``[hints.spread]`` adds after the hint channels, in order."""


class SpreadOptions(OptionsSchema):
    """``[hints.spread]``: how far a hint's colour reaches (see :mod:`colorkit.hints.spread`)."""

    sigma: Annotated[FiniteFloat, Field(ge=0.02, le=1, description="reach in place: the Gaussian's standard deviation as a fraction of the network's side (from 0.02: the grid has a cell per half sigma)")] = 0.25
    sigma_l: Annotated[FiniteFloat, Field(ge=2, le=100, description="reach in lightness: the Gaussian's standard deviation in L units (0-100; from 2: the grid has a cell per half sigma)")] = 10.0
    skip: bool = Field(True, description="add the spread ab, times its weight, to the network's ab output, so the network learns the correction (colorkit.hints.skip); needs a loss that predicts ab (mse, l1...), not class scores")


def _blur(grid: torch.Tensor, dim: int, sigma_cells: float) -> torch.Tensor:
    """``grid`` ``(B, C, D, H, W)`` convolved along ``dim`` (2, 3 or 4) with an unnormalised Gaussian
    (peak 1, so one hint weighs 1 at its own cell), zero beyond the edges."""
    r = max(1, math.ceil(3 * sigma_cells))
    kernel = torch.exp(-torch.arange(-r, r + 1, dtype=grid.dtype, device=grid.device) ** 2 / (2 * sigma_cells**2))
    shape = [1, 1, 1, 1, 1]
    shape[dim] = 2 * r + 1
    padding = [0, 0, 0]
    padding[dim - 2] = r
    c = grid.shape[1]
    return F.conv3d(grid, kernel.view(shape).expand(c, 1, *shape[2:]), padding=tuple(padding), groups=c)


def spread_hints(L: torch.Tensor, hints: torch.Tensor, options: SpreadOptions) -> torch.Tensor:
    """The spread channels ``(B, 3, H, W)`` for normalised ``L`` ``(B, 1, H, W)`` (``L / 50 - 1``) and
    the hint channels ``hints`` ``(B, 3, H, W)`` (a, b as the network's output scale, mask).

    ``spread_a``, ``spread_b``: the weighted mean of the hints' ab (0 where no weight arrived);
    ``spread_weight``: ``1 - exp(-w)`` for the total weight ``w`` (0: no hint near, about 0.63: as
    near as one hint at the pixel itself).
    """
    b, _, h, w = hints.shape
    cell = options.sigma * max(h, w) / 2  # grid cells of half a sigma
    cell_l = options.sigma_l / 50 / 2  # in normalised L, which spans 2
    gh, gw, gl = math.ceil((h - 1) / cell) + 1, math.ceil((w - 1) / cell) + 1, math.ceil(2 / cell_l) + 1
    ys = torch.arange(h, device=hints.device, dtype=hints.dtype).view(1, h, 1) / cell
    xs = torch.arange(w, device=hints.device, dtype=hints.dtype).view(1, 1, w) / cell
    ls = (L[:, 0].to(hints.dtype).clamp(-1, 1) + 1) / cell_l  # (B, H, W) in cells
    mask = hints[:, 2:3]
    values = torch.cat([hints[:, :2] * mask, mask], 1).flatten(2)  # (B, 3, H*W): splat a, b and the weight
    index = (ls.round().long() * gh + ys.round().long()) * gw + xs.round().long()  # nearest cell
    grid = hints.new_zeros(b, 3, gl * gh * gw).scatter_add_(2, index.view(b, 1, -1).expand(b, 3, -1), values)
    grid = grid.view(b, 3, gl, gh, gw)
    for dim in (2, 3, 4):
        grid = _blur(grid, dim, 2.0)  # sigma is two cells
    # read back trilinearly at each pixel's (x, y, L); grid_sample's coordinates run -1..1 over the cells
    where = torch.stack([xs.expand(b, h, w) / (gw - 1), ys.expand(b, h, w) / (gh - 1), ls / (gl - 1)], -1) * 2 - 1
    sliced = F.grid_sample(grid, where.unsqueeze(1), mode="bilinear", align_corners=True).squeeze(2)  # (B, 3, H, W)
    weight = sliced[:, 2:3].clamp(min=0)
    ab = torch.where(weight > 1e-4, sliced[:, :2] / weight.clamp(min=1e-4), 0.0)
    return torch.cat([ab, 1 - torch.exp(-weight)], 1)
