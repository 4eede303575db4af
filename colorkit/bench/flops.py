"""FLOPs per image, counted by torch's FlopCounterMode (convolutions and matrix products; a
multiply-add counts 2; elementwise ops such as norms and activations are not counted)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode


def forward_flops(model: nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one forward pass per image of the batch ``x`` (the model's mode is used as it is)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / x.shape[0]


def train_flops(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> float:
    """FLOPs of forward + MSE loss + backward per image (gradients are cleared afterwards)."""
    with FlopCounterMode(display=False) as counter:
        F.mse_loss(model(x).float(), target).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / x.shape[0]
