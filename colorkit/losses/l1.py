"""Mean absolute error on ab."""

from __future__ import annotations

import torch.nn.functional as F

from colorkit.losses.base import Loss


class L1Loss(Loss):
    """Mean absolute error on ab; its optimum is the per-pixel median colour (MSE's is the mean)."""

    supports_pixel_weights = True

    def terms(self, pred, target, **context):
        if context.get("pixel_weights") is None:
            return {"l1": F.l1_loss(pred, target)}
        return {"l1": self.pixel_mean((pred - target).abs(), context)}
