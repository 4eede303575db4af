"""The built-in hint sampler ``points``: sparse user points simulated from the truth while training.

After Zhang, Zhu, Isola, Geng, Lin, Yu and Efros, "Real-Time User-Guided Image Colorization with
Learned Deep Priors" (SIGGRAPH 2017): an image gets no hint with probability ``p_none``; otherwise a
number of points drawn from a geometric distribution, each at a random place, revealing the mean
true ab over a small square patch. A sampler is called as ``sampler(ab, L, generator)`` and returns
the hint channels laid out as :func:`colorkit.hints.render_hints` lays them out.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field

from colorkit.contracts import FiniteFloat, OptionsSchema, options_signature, parse_options

MAX_POINTS = 256
"""Largest ``max_points``: far more than a user gives, and a bound on the sampler's memory."""

MAX_PATCH = 32
"""Largest ``max_patch`` in network pixels (an eighth of a 256 px network's side)."""


class PointsOptions(OptionsSchema):
    """``points`` options (see :class:`PointsSampler`)."""

    p_none: Annotated[FiniteFloat, Field(ge=0, le=1, description="share of images that get no hint at all")] = 0.25
    mean_points: Annotated[FiniteFloat, Field(ge=1, le=MAX_POINTS, description="mean number of points of an image with hints (geometric distribution on 1, 2, ..., before the cap)")] = 8.0
    max_points: Annotated[int, Field(strict=True, ge=1, le=MAX_POINTS, description="at most this many points an image")] = 32
    max_patch: Annotated[int, Field(strict=True, ge=1, le=MAX_PATCH, description="largest side of a point's square patch in network pixels; each side is uniform in 1..max_patch")] = 3
    placement: Literal["uniform", "gaussian"] = Field("uniform", description='"uniform" over the image, or "gaussian" around its centre')
    sigma: Annotated[FiniteFloat, Field(gt=0, le=1, description="gaussian: standard deviation of the places, as a fraction of the side")] = 0.25


class PointsSampler:
    """Points after Zhang et al. 2017: often none, else a geometric number of patches revealing the mean true ab.

    Per image: no hint with probability ``p_none``; otherwise ``n`` points, ``n`` geometric on
    1, 2, ... with mean ``mean_points`` and capped at ``max_points``. Each point is at a uniform
    place (or Gaussian around the centre, ``sigma`` of the side), covers a square of side uniform in
    1..``max_patch`` network pixels around it (clipped to the image; an odd side is centred on it as
    in ``render_hints``), and fills it with the true ab's mean over that square and the mask; a later
    point overwrites an earlier one where they overlap. Every draw comes from ``generator`` in shapes
    that do not depend on the image content, so the same generator state gives the same hints.
    """

    Options = PointsOptions

    def __init__(self, **options):
        self.options = parse_options("points", self.Options, options)

    def __call__(self, ab: torch.Tensor, L: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        o = self.options
        b, _, h, w = ab.shape
        k, side_max = o.max_points, o.max_patch
        none = torch.rand(b, generator=generator) < o.p_none
        u = torch.rand(b, generator=generator)
        if o.mean_points > 1:  # inverse CDF of the geometric distribution on 1, 2, ... with p = 1 / mean
            counts = 1 + torch.floor(torch.log1p(-u) / math.log1p(-1 / o.mean_points)).long()
        else:
            counts = torch.ones(b, dtype=torch.long)
        counts = torch.where(none, 0, counts.clamp(max=k))
        sides = torch.randint(1, side_max + 1, (b, k), generator=generator)
        if o.placement == "uniform":
            ys = torch.randint(0, h, (b, k), generator=generator)
            xs = torch.randint(0, w, (b, k), generator=generator)
        else:
            ys = ((h - 1) / 2 + o.sigma * h * torch.randn(b, k, generator=generator)).round().clamp(0, h - 1).long()
            xs = ((w - 1) / 2 + o.sigma * w * torch.randn(b, k, generator=generator)).round().clamp(0, w - 1).long()
        dev = ab.device
        used = int(counts.max())  # points beyond every image's count are never drawn on
        active = torch.arange(used)[None, :] < counts[:, None]
        top, left = ys[:, :used] - (sides[:, :used] - 1) // 2, xs[:, :used] - (sides[:, :used] - 1) // 2
        step = torch.arange(side_max)
        rows, cols = top[..., None] + step, left[..., None] + step  # (B, used, P): each patch's rows and columns
        in_side = step < sides[:, :used, None]
        inside = ((rows >= 0) & (rows < h) & in_side)[..., :, None] & ((cols >= 0) & (cols < w) & in_side)[..., None, :]  # (B, used, P, P)
        index = (rows.clamp(0, h - 1)[..., :, None] * w + cols.clamp(0, w - 1)[..., None, :]).view(b, -1).to(dev)
        inside = inside.to(dev)
        # each point's mean true ab over its patch
        values = ab.flatten(2).gather(2, index[:, None].expand(b, 2, -1)).view(b, 2, used, side_max * side_max)
        weight = inside.view(b, 1, used, side_max * side_max).to(ab.dtype)
        means = (values * weight).sum(-1) / weight.sum(-1).clamp(min=1)  # (B, 2, used)
        # paint: every pixel takes the last active point covering it (1 + its number; 0: no hint)
        number = torch.arange(1, used + 1, device=dev, dtype=torch.int32).view(1, used, 1, 1) * (inside & active.to(dev)[..., None, None])
        number = number.view(b, -1)
        owner = torch.zeros(b, h * w, dtype=torch.int32, device=dev).scatter_reduce(1, index, number, "amax")
        # write only the listed pixels, each with its owner's value: a pixel listed twice gets the same value twice
        won = owner.gather(1, index).long()  # (B, used * P * P)
        hinted = (won > 0).to(ab.dtype)[:, None]
        value = means.gather(2, (won - 1).clamp(min=0)[:, None].expand(b, 2, -1)) * hinted
        out = ab.new_zeros(b, 3, h * w).scatter_(2, index[:, None].expand(b, 3, -1), torch.cat([value, hinted], 1))
        return out.view(b, 3, h, w)


PointsSampler.__signature__ = options_signature(PointsOptions)
