"""A regression loss on ab whose per-pixel weights grow with the true chroma."""

from __future__ import annotations

import math

import torch

from colorkit.data.lab import AB_SCALE
from colorkit.losses.base import Loss

BASES = ("l1", "mse")


class ChromaWeightedLoss(Loss):
    """Saturation-aware L1/MSE on ab: pixels count more the more vivid their true colour (chroma weights).

    Each pixel's error (``base``: absolute or squared, averaged over a and b, as ``l1``/``mse``) is
    weighted by ``w = min(1 + alpha * C / 100, max_weight)``, where ``C = sqrt(a**2 + b**2)`` is the
    true chroma in LAB units: a gray pixel weighs 1, skin (C about 20-30) about 1.7 and vivid lips
    or clothes (C about 60-80) about 3 with the defaults. The weights are normalised to mean 1 over
    the batch (the loss is ``sum(w * err) / sum(w)``), so the loss equals plain ``l1``/``mse`` when
    every pixel has the same chroma and its scale stays comparable with them.

    Why chroma and not the rarity of the colour in the training set: the failure this targets is
    desaturation, and chroma measures exactly that; the weight needs no pass over the training
    data and no cache, is the same for every dataset (so runs on different data compare fairly),
    and works unchanged on a single batch. Rarity weighting is what ``rebalanced_ce`` does, and on
    face photos its rare colours are largely hues (blue, green) whose rarity says little about
    how saturated a pixel should be.

    Per-pixel ``pixel_weights`` (a recipe's ``part_weights``) multiply the chroma weights.

    Options: ``base`` ("l1" | "mse", default "l1"), ``alpha`` >= 0 (default 3.0; 0 gives plain
    ``base``), ``max_weight`` >= 1 (default 5.0; caps the weight before normalising).
    """

    supports_pixel_weights = True

    def __init__(self, base: str = "l1", alpha: float = 3.0, max_weight: float = 5.0):
        super().__init__()
        if base not in BASES:
            raise ValueError(f"chroma_weighted: option 'base' must be one of {', '.join(map(repr, BASES))}, got {base!r}")
        for name, value, low in (("alpha", alpha, 0.0), ("max_weight", max_weight, 1.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
                raise ValueError(f"chroma_weighted: option '{name}' must be a finite number >= {low:g}, got {value!r}")
        self.base, self.alpha, self.max_weight = base, float(alpha), float(max_weight)

    def extra_repr(self) -> str:
        return f"base={self.base!r}, alpha={self.alpha}, max_weight={self.max_weight}"

    def weights(self, target: torch.Tensor) -> torch.Tensor:
        """Unnormalised per-pixel weights ``(B, H, W)`` from the true ab (normalised by ``AB_SCALE``)."""
        chroma = torch.linalg.vector_norm(target.detach() * AB_SCALE, dim=1)
        return (1.0 + self.alpha * chroma / 100.0).clamp(max=self.max_weight)

    def terms(self, pred, target, **context):
        diff = pred - target
        err = (diff.abs() if self.base == "l1" else diff.square()).mean(dim=1)  # (B, H, W)
        w = self.weights(target)
        parts = self.pixel_weights(err, context)
        if parts is not None:  # part weights multiply the chroma weights
            w = w * parts[:, 0]
        return {"chroma_weighted": (w * err).sum() / w.sum().clamp_min(1e-12)}
