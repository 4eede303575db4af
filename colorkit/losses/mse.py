"""Mean squared error on ab: the seed's loss."""

from __future__ import annotations

import torch.nn.functional as F

from colorkit.losses.base import Loss


class MSELoss(Loss):
    """Mean squared error on ab; favours safe, desaturated colours."""

    def terms(self, pred, target, **context):
        return {"mse": F.mse_loss(pred, target)}
