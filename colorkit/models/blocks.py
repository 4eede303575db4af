"""Building blocks shared by the U-net style models, and option checks that name the option."""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import model_validator
from torch import nn
from torch.nn import functional as F

from colorkit.contracts import OptionsSchema, PositiveInt

NORMS = ("batch", "instance", "none")
DOWNSAMPLES = ("maxpool", "conv")
UPSAMPLES = ("bilinear", "transpose")

class LevelOptions(OptionsSchema):
    """The options every U-net style model shares: channels per level and how levels change resolution."""

    width: PositiveInt = 32
    max_width: PositiveInt = 512
    norm: Literal[NORMS] = "batch"
    downsample: Literal[DOWNSAMPLES] = "maxpool"
    upsample: Literal[UPSAMPLES] = "bilinear"

    @model_validator(mode="after")
    def _cap_above_width(self):
        if self.max_width < self.width:
            raise ValueError(f"max_width ({self.max_width}) must be >= width ({self.width})")
        return self


# --- option checks ----------------------------------------------------------------------------------


def check_int(model: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a ValueError naming ``model`` and the option."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{model}: {name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{model}: {name} must be >= {minimum}, got {value}")
    return int(value)


def check_choice(model: str, name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{model}: {name} must be one of {valid}, got {value!r}")
    return value


def check_channels(model: str, in_channels: Any, out_channels: Any) -> tuple[int, int]:
    return check_int(model, "in_channels", in_channels, 1), check_int(model, "out_channels", out_channels, 1)


def check_divisible(model: str, x: torch.Tensor, stride: int, why: str) -> None:
    """Raise a ValueError when the input's height or width is not a multiple of ``stride``."""
    h, w = x.shape[-2:]
    if h % stride or w % stride:
        raise ValueError(
            f"{model}: input size {h}x{w} is not divisible by the model's stride {stride} ({why}); "
            "resize or pad the input"
        )


def level_widths(width: int, levels: int, max_width: int) -> list[int]:
    """Channels per resolution level: ``width * 2**i`` capped at ``max_width``, for i = 0..levels."""
    return [min(width * 2**i, max_width) for i in range(levels + 1)]


# --- layers -----------------------------------------------------------------------------------------


def norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class ConvBlock(nn.Sequential):
    """3x3 convolution (optionally dilated, same resolution) + normalisation + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, dilation: int = 1, norm: str = "batch"):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=norm == "none"
        )
        self.norm = norm_layer(norm, out_channels)
        self.act = nn.ReLU(inplace=True)


class DoubleConv(nn.Sequential):
    """Two ConvBlocks: the unit of every U-net level."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str = "batch"):
        super().__init__(
            ConvBlock(in_channels, out_channels, norm=norm),
            ConvBlock(out_channels, out_channels, norm=norm),
        )


class Down(nn.Sequential):
    """Halve the resolution (2x2 max-pool, or a stride-2 3x3 convolution block), then a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str = "batch", mode: str = "maxpool"):
        super().__init__()
        if mode == "maxpool":
            self.pool = nn.MaxPool2d(2)
        else:
            self.pool = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, stride=2, padding=1, bias=norm == "none"),
                norm_layer(norm, in_channels),
                nn.ReLU(inplace=True),
            )
        self.convs = DoubleConv(in_channels, out_channels, norm=norm)


class Up(nn.Module):
    """Double the resolution, concatenate the skip connection, then a DoubleConv.

    ``mode="bilinear"``: bilinear upsampling followed by a 1x1 convolution to the skip's channels
    (no checkerboard artefacts); ``mode="transpose"``: a 2x2 stride-2 transposed convolution.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, *, norm: str = "batch",
                 mode: str = "bilinear"):
        super().__init__()
        self.mode = mode
        if mode == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, skip_channels, 2, stride=2)
        else:
            self.up = nn.Conv2d(in_channels, skip_channels, 1)
        self.convs = DoubleConv(2 * skip_channels, out_channels, norm=norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.mode == "transpose":
            x = self.up(x)
        else:
            # a 1x1 convolution commutes with bilinear interpolation: run it at the lower resolution
            x = F.interpolate(self.up(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))
