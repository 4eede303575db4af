"""The PSNR the evaluation reports, as a loss: how far each image's PSNR in sRGB falls short of a cap."""

from __future__ import annotations

import torch

from colorkit.data.lab import model_io_to_rgb
from colorkit.losses.base import Loss


class PSNRLoss(Loss):
    """How far each image's PSNR falls short of ``10 log10(1 / eps)`` dB, in tens of dB, averaged over the
    images: ``mean_i log10((MSE_i + eps) / eps)``, 0 for a perfect prediction.

    The prediction and the true ab are each joined with the input lightness and converted to sRGB
    in [0, 1] (clamped, as when shown), as ``colorkit evaluate`` scores a photo; ``MSE_i`` is the
    mean squared error of image ``i``. ``colorkit evaluate`` averages PSNR over photos, so it
    rewards an image already close to its truth as much as a hard one; a mean error over all
    pixels (MSE, L1) spends the network on the hard ones. The gradient of each image is its MSE
    gradient divided by its MSE plus ``eps``. ``eps`` (default 1e-5, a 50 dB cap) keeps a near-perfect
    image from dominating. It needs the input lightness, ``L=``, as the trainer passes it. Its term
    logs as ``psnr.shortfall`` (``val_psnr`` is validation's own PSNR).

    Options: ``eps`` (default 1e-5).
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"psnr: option 'eps' must be a number above 0, got {eps!r}")
        self.eps = float(eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"

    def terms(self, pred, target, **context):
        L = self.lightness(pred, context, "psnr").detach().float()
        rgb = model_io_to_rgb(L, pred.float())
        with torch.no_grad():
            true = model_io_to_rgb(L, target.float())
        mse = (rgb - true).square().mean(dim=(1, 2, 3))
        return {"shortfall": torch.log10(mse / self.eps + 1).mean()}
