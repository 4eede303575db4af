"""A differentiable colourfulness term: the prediction should be as colourful as the photo."""

from __future__ import annotations

import torch

from colorkit.data.lab import model_io_to_rgb
from colorkit.losses.base import Loss

_EPS = 1e-6
"""Added under the square roots (0-255 units squared) so a gray image has a finite gradient."""


def hasler_susstrunk(rgb: torch.Tensor) -> torch.Tensor:
    """Differentiable Hasler and Suesstrunk (2003) colourfulness of sRGB ``(B, 3, H, W)`` in [0, 1] -> ``(B,)``.

    On 0-255 units, as :func:`colorkit.metrics.colorfulness`: ``rg = R - G``, ``yb = (R + G) / 2 - B``,
    ``sqrt(var(rg) + var(yb)) + 0.3 * sqrt(mean(rg)**2 + mean(yb)**2)`` with population variances
    (plus 1e-6 under each root, which keeps the gradient of a gray image finite).
    """
    x = rgb * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    sigma = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + _EPS)
    mu = torch.sqrt(rg.mean(dim=1).square() + yb.mean(dim=1).square() + _EPS)
    return sigma + 0.3 * mu


class ColorfulnessLoss(Loss):
    """Pulls the colourfulness (Hasler-Suesstrunk) of each predicted image toward that of the photo.

    The predicted and the true ab are each joined with the input lightness and converted to sRGB
    (kornia, differentiable; out-of-gamut colours are clamped as when the image is shown), and the
    term is the mean over images of ``|C(pred) - C(true)| / 100``; colourfulness is on 0-255 units
    and usually 0-150, so the term is of the order of MSE on normalised ab. With
    ``only_below=True`` only a prediction duller than the photo is penalised
    (``max(C(true) - C(pred), 0) / 100``), leaving more colourful predictions to the other terms.

    It needs the input lightness: pass ``L=`` (normalised L, ``(B, 1, H, W)``), as the trainer does;
    without it the loss raises a ValueError rather than guess a lightness, because colourfulness
    depends on L (a fixed L = 50 would misjudge dark and light photos alike). It says nothing
    about which colour goes where, so use it beside a regression or classification loss.

    Options: ``only_below`` (default False).
    """

    def __init__(self, only_below: bool = False):
        super().__init__()
        if not isinstance(only_below, bool):
            raise ValueError(f"colorfulness: option 'only_below' must be true or false, got {only_below!r}")
        self.only_below = only_below

    def extra_repr(self) -> str:
        return f"only_below={self.only_below}"

    def terms(self, pred, target, **context):
        L = self.lightness(pred, context, "colorfulness")
        light = L.detach().float()
        c_pred = hasler_susstrunk(model_io_to_rgb(light, pred.float()))
        with torch.no_grad():
            c_true = hasler_susstrunk(model_io_to_rgb(light, target.float()))
        gap = c_true - c_pred
        term = gap.clamp(min=0) if self.only_below else gap.abs()
        return {"colorfulness": term.mean() / 100.0}
