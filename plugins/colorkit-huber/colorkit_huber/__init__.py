"""colorkit-huber: an example third-party plugin adding a Huber loss on ab."""

from __future__ import annotations

import torch.nn.functional as F

from colorkit.hookspecs import hookimpl
from colorkit.losses import Loss

__version__ = "0.1.0"


class HuberLoss(Loss):
    """Huber loss on ab: quadratic for small errors, linear for large ones (less pull to gray than MSE)."""

    def __init__(self, delta: float = 0.1):
        super().__init__()
        if delta <= 0:
            raise ValueError(f"huber: delta must be > 0, got {delta}")
        self.delta = delta

    def terms(self, pred, target, **context):
        return {"huber": F.huber_loss(pred, target, delta=self.delta)}


@hookimpl
def colorkit_register_losses(register):
    register("huber", HuberLoss)
