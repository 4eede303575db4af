"""ECCV16: the network of Zhang, Isola and Efros, "Colorful Image Colorization" (ECCV 2016)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from colorkit.models.blocks import check_channels, check_divisible, check_int

STRIDE = 8
"""Three stride-2 convolutions: H and W must be divisible by 8."""


def _block(in_channels: int, channels: int, convs: int, *, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """``convs`` 3x3 conv + ReLU (the last with ``stride``), then BatchNorm: one of the paper's conv blocks."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(in_channels if i == 0 else channels, channels, 3, stride=stride if i == convs - 1 else 1,
                      padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(channels))
    return nn.Sequential(*layers)


class ECCV16(nn.Module):
    """Zhang, Isola, Efros (ECCV 2016) "Colorful Image Colorization" network, built from the paper.

    Eight conv blocks of 2-3 3x3 convolutions with ReLU, BatchNorm after each of conv1-conv7:
    conv1-4 (64, 128, 256, 512 channels; conv1-3 end with a stride-2 conv, so 1/8 resolution),
    conv5-6 (512, dilation 2), conv7 (512), conv8 (a 4x4 stride-2 transposed conv to 256 channels,
    then two 3x3 convs: 1/4 resolution), then a 1x1 convolution to ``out_channels`` (313 bin
    logits with ``rebalanced_ce``, the paper's setting, or ab with 2-channel losses).

    Our change: the paper predicts at 1/4 of the input resolution and upsamples the decoded ab; here
    the 1x1 output (logits or ab) is upsampled bilinearly by 4 inside the network, so the output has
    the input's resolution like every colorkit model. ``width`` (default 64, the paper's) scales all
    channel counts by ``width / 64`` (e.g. 8 for CPU tests). H and W must be divisible by 8.
    """

    name = "eccv16"

    def __init__(self, in_channels: int = 1, out_channels: int = 2, width: int = 64):
        super().__init__()
        in_channels, out_channels = check_channels(self.name, in_channels, out_channels)
        w = self.check_options(width=width)["width"]
        c1, c2, c3, c4 = w, 2 * w, 4 * w, 8 * w
        self.conv1 = _block(in_channels, c1, 2, stride=2)
        self.conv2 = _block(c1, c2, 2, stride=2)
        self.conv3 = _block(c2, c3, 3, stride=2)
        self.conv4 = _block(c3, c4, 3)
        self.conv5 = _block(c4, c4, 3, dilation=2)
        self.conv6 = _block(c4, c4, 3, dilation=2)
        self.conv7 = _block(c4, c4, 3)
        self.conv8 = nn.Sequential(
            nn.ConvTranspose2d(c4, c3, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c3, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c3, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Conv2d(c3, out_channels, 1)

    @classmethod
    def check_options(cls, width: int = 64) -> dict:
        """Validate the options (ValueError naming the option) and return them."""
        return {"width": check_int(cls.name, "width", width, 1)}

    @classmethod
    def input_stride(cls, **options) -> int:
        """8: what H and W must be divisible by (checks the options, builds nothing)."""
        options.pop("in_channels", None)
        options.pop("out_channels", None)
        cls.check_options(**options)
        return STRIDE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(self.name, x, STRIDE, "three stride-2 convolutions")
        size = x.shape[-2:]
        for block in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6, self.conv7, self.conv8):
            x = block(x)
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)
