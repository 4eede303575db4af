"""CU-net: a U-net whose two deepest down/up steps are a stack of dilated convolutions."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, StrictBool
from torch import nn

from colorkit.contracts import PositiveInt, options_signature, parse_options
from colorkit.models.blocks import (
    ConvBlock,
    Down,
    DoubleConv,
    LevelOptions,
    Up,
    check_channels,
    check_divisible,
    level_widths,
)


class CUNetOptions(LevelOptions):
    """CU-net options: :class:`LevelOptions` plus the depth and the dilated stack."""

    depth: Annotated[int, Field(strict=True, ge=3, description=(
        "CU-net replaces the two deepest of `depth` down/up steps, so it needs at least one real one"))] = 4
    dilations: Annotated[tuple[PositiveInt, ...], Field(min_length=1)] = (1, 2, 4, 8, 16)
    repeats: PositiveInt = 1
    residual: StrictBool = False


class CUNet(nn.Module):
    """CU-net (reference): U-net whose two deepest down/up steps are dilated 3x3 convs at constant resolution.

    After Wang, Chen and Tian's CU-net. Kept from it: a U-net encoder/decoder with concatenated skip
    connections, in which the two deepest downsampling/upsampling steps of a ``depth``-level U-net
    are replaced by a stack of dilated 3x3 convolutions at the bottom resolution, so the receptive
    field grows without losing more resolution. The network therefore has ``depth - 2`` real 2x
    down/up steps and a stride of ``2**(depth - 2)``.

    Our choices (not taken from the paper): each level is two 3x3 conv + norm + ReLU blocks with
    ``width * 2**level`` channels (capped at ``max_width``); the dilated stack is one conv + norm +
    ReLU block per entry of ``dilations``, repeated ``repeats`` times, with the bottom level's
    channels; ``residual=True`` adds the stack's input to its output; the output is a linear 1x1
    convolution (ab, or class logits when ``out_channels`` is e.g. 313).

    Options, their defaults and constraints: :class:`CUNetOptions`.
    """

    name = "cunet"

    Options = CUNetOptions

    def __init__(self, in_channels: int = 1, out_channels: int = 2, **options):
        super().__init__()
        in_channels, out_channels = check_channels(self.name, in_channels, out_channels)
        opts = parse_options(self.name, self.Options, options)
        self.depth = opts.depth
        self.levels = self.depth - 2
        self.stride = 2 ** self.levels
        self.dilations = opts.dilations * opts.repeats
        self.residual = opts.residual
        widths = level_widths(opts.width, self.levels, opts.max_width)
        self.widths = widths

        norm = opts.norm
        self.inc = DoubleConv(in_channels, widths[0], norm=norm)
        self.downs = nn.ModuleList(
            Down(widths[i - 1], widths[i], norm=norm, mode=opts.downsample) for i in range(1, self.levels + 1)
        )
        bottom = widths[-1]
        self.dilated = nn.Sequential(*(ConvBlock(bottom, bottom, dilation=d, norm=norm) for d in self.dilations))
        self.ups = nn.ModuleList(
            Up(widths[i], widths[i - 1], widths[i - 1], norm=norm, mode=opts.upsample)
            for i in range(self.levels, 0, -1)
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    @classmethod
    def input_stride(cls, **options) -> int:
        """2**(depth - 2): what H and W must be divisible by (checks the options, builds nothing)."""
        options.pop("in_channels", None)
        options.pop("out_channels", None)
        return 2 ** (parse_options(cls.name, cls.Options, options).depth - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(self.name, x, self.stride, f"depth={self.depth} keeps {self.levels} 2x downsamplings")
        x = self.inc(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottom level feeds the dilated stack, not a skip
        x = x + self.dilated(x) if self.residual else self.dilated(x)
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


CUNet.__signature__ = options_signature(CUNetOptions, in_channels=1, out_channels=2)
