"""Plain U-net baseline (Ronneberger et al. 2015) with configurable width and depth."""

from __future__ import annotations

import torch
from torch import nn

from colorkit.contracts import PositiveInt, options_signature, parse_options
from colorkit.models.blocks import (
    Down,
    DoubleConv,
    LevelOptions,
    Up,
    check_channels,
    check_divisible,
    level_widths,
)


class UNetOptions(LevelOptions):
    """U-net options: :class:`LevelOptions` plus ``depth``, the number of 2x downsamplings."""

    depth: PositiveInt = 4


class UNet(nn.Module):
    """Plain U-net baseline: `depth` 2x down/up steps with skip connections (stride 2**depth).

    Every level is two 3x3 convolution + norm + ReLU blocks with ``width * 2**level`` channels
    (capped at ``max_width``). Downsampling is a 2x2 max-pool (``downsample="maxpool"``) or a
    stride-2 convolution (``"conv"``); upsampling is bilinear + 1x1 convolution (``upsample="bilinear"``)
    or a transposed convolution (``"transpose"``); the skip connection is concatenated. A final 1x1
    convolution gives ``out_channels`` linear outputs (no activation).

    Options, their defaults and constraints: :class:`UNetOptions`. H and W must be divisible by
    ``2**depth``.
    """

    name = "unet"

    Options = UNetOptions

    def __init__(self, in_channels: int = 1, out_channels: int = 2, **options):
        super().__init__()
        in_channels, out_channels = check_channels(self.name, in_channels, out_channels)
        opts = parse_options(self.name, self.Options, options)
        self.depth = opts.depth
        self.stride = 2 ** self.depth
        widths = level_widths(opts.width, self.depth, opts.max_width)
        self.widths = widths

        norm = opts.norm
        self.inc = DoubleConv(in_channels, widths[0], norm=norm)
        self.downs = nn.ModuleList(
            Down(widths[i - 1], widths[i], norm=norm, mode=opts.downsample) for i in range(1, self.depth + 1)
        )
        self.ups = nn.ModuleList(
            Up(widths[i], widths[i - 1], widths[i - 1], norm=norm, mode=opts.upsample)
            for i in range(self.depth, 0, -1)
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    @classmethod
    def input_stride(cls, **options) -> int:
        """2**depth: what H and W must be divisible by (checks the options, builds nothing)."""
        options.pop("in_channels", None)
        options.pop("out_channels", None)
        return 2 ** parse_options(cls.name, cls.Options, options).depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(self.name, x, self.stride, f"depth={self.depth}")
        x = self.inc(x)
        skips = [x]
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottom level has no skip
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


UNet.__signature__ = options_signature(UNetOptions, in_channels=1, out_channels=2)
