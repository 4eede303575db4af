"""The spread skip: a hint model's ab output starts from the spread hints, and its network learns the correction.

With ``[hints.spread]`` (``skip``, on by default) the model's output is ``net(x) + w * spread_ab``,
where ``spread_ab`` and ``w`` are the input's last three channels (``spread_a``, ``spread_b``,
``spread_weight``; :mod:`colorkit.hints.spread`). Where no hint reaches, ``w`` is 0 and the output
is the network's own; near a hint the network only has to learn how far to trust it. At the UTKFace
recipe's budget this gave more with hints and lost less without them than the spread channels
alone (docs/hints.md). It needs a network that predicts ab itself (a regression loss such as mse or
l1), not class scores.
"""

from __future__ import annotations

import torch
from torch import nn

from colorkit.contracts import checkpoint_state, load_checkpoint_state


class SpreadSkip(nn.Module):
    """``net`` with the spread hints added to its ab output; its checkpoints hold ``net``'s tensors as they are."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + x[:, -1:] * x[:, -3:-1]

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        return checkpoint_state(self.net)

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        load_checkpoint_state(self.net, state)
