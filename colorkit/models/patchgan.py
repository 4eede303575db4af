"""PatchGAN: the pix2pix discriminator that scores overlapping image patches as real or fake."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from colorkit.models.blocks import check_channels, check_choice, check_int

DISC_NORMS = ("batch", "instance", "spectral", "none")


class PatchGAN(nn.Module):
    """PatchGAN discriminator (pix2pix): one real/fake logit per overlapping patch, not per pixel.

    After Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (2017):
    with the defaults (``width=64``, ``layers=3``) it is their 70x70 PatchGAN, C64-C128-C256-C512:
    4x4 convolutions, ``layers`` of them with stride 2 and one with stride 1, each followed by
    normalisation (none after the first) and LeakyReLU(0.2), then a 4x4 stride-1 convolution to
    ``out_channels`` logits. Channels are ``width * 2**i`` capped at ``8 * width``.

    ``(B, in_channels, H, W)`` -> ``(B, out_channels, h, w)`` with ``h = H // 2**layers - 2`` (for H
    divisible by ``2**layers``): a 64x64 input gives 6x6 patch logits. Inputs need
    ``H, W >= 3 * 2**layers``. A discriminator is not a colorizer: ``role = "discriminator"``
    (:class:`colorkit.contracts.ModelContract`) keeps it out of recipes' ``[model]`` and out of the
    colorizer contract test; losses build it by name.

    Options: ``width`` (default 64), ``layers`` (stride-2 convolutions, >= 1, default 3),
    ``norm`` ("batch" as in pix2pix | "instance" | "spectral": spectral normalisation of every
    convolution instead of a norm layer | "none").
    """

    name = "patchgan"
    role = "discriminator"

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        width: int = 64,
        layers: int = 3,
        norm: str = "batch",
    ):
        super().__init__()
        in_channels, out_channels = check_channels(self.name, in_channels, out_channels)
        opts = self.check_options(width=width, layers=layers, norm=norm)
        width, self.layers, self.norm = opts["width"], opts["layers"], opts["norm"]
        self.min_size = 3 * 2**self.layers
        bias = self.norm not in ("batch",)  # a norm with its own shift makes a conv bias redundant

        def conv(cin: int, cout: int, stride: int, with_bias: bool = bias) -> nn.Module:
            layer = nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=with_bias)
            return spectral_norm(layer) if self.norm == "spectral" else layer

        def norm_layer(channels: int) -> nn.Module:
            if self.norm == "batch":
                return nn.BatchNorm2d(channels)
            if self.norm == "instance":
                return nn.InstanceNorm2d(channels, affine=True)
            return nn.Identity()

        seq: list[nn.Module] = [conv(in_channels, width, 2, with_bias=True), nn.LeakyReLU(0.2, inplace=True)]
        prev = width
        for i in range(1, self.layers + 1):
            cur = width * min(2**i, 8)
            stride = 2 if i < self.layers else 1
            seq += [conv(prev, cur, stride), norm_layer(cur), nn.LeakyReLU(0.2, inplace=True)]
            prev = cur
        seq.append(conv(prev, out_channels, 1, with_bias=True))
        self.net = nn.Sequential(*seq)

    @classmethod
    def check_options(cls, width: int = 64, layers: int = 3, norm: str = "batch") -> dict:
        """Validate the options (ValueError naming the option) and return them normalised."""
        width = check_int(cls.name, "width", width, 1)
        layers = check_int(cls.name, "layers", layers, 1)
        check_choice(cls.name, "norm", norm, DISC_NORMS)
        return dict(width=width, layers=layers, norm=norm)

    @classmethod
    def input_stride(cls, **options) -> int:
        """1: any size of at least ``3 * 2**layers`` works (checks the options, builds nothing)."""
        options.pop("in_channels", None)
        options.pop("out_channels", None)
        cls.check_options(**options)
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h < self.min_size or w < self.min_size:
            raise ValueError(
                f"{self.name}: input {h}x{w} is too small for layers={self.layers}; "
                f"it needs at least {self.min_size}x{self.min_size}"
            )
        return self.net(x)
