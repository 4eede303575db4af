"""Mean absolute error on ab."""

from __future__ import annotations

import torch.nn.functional as F

from colorkit.losses.base import Loss


class L1Loss(Loss):
    """Mean absolute error on ab; its optimum is the per-pixel median colour (MSE's is the mean)."""

    def terms(self, pred, target, **context):
        return {"l1": F.l1_loss(pred, target)}
