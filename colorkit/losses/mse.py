"""Mean squared error on ab: the seed's loss."""

from __future__ import annotations

import torch.nn.functional as F

from colorkit.losses.base import Loss


class MSELoss(Loss):
    """Mean squared error on ab; favours safe, desaturated colours."""

    supports_pixel_weights = True

    def terms(self, pred, target, **context):
        if context.get("pixel_weights") is None:
            return {"mse": F.mse_loss(pred, target)}
        return {"mse": self.pixel_mean((pred - target).square(), context)}
