"""The base class every colorkit loss derives from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from colorkit.contracts import LossContract


class Loss(nn.Module, LossContract):
    """A training loss on the network output against the true ab.

    Subclasses implement :meth:`terms` and return named terms; the loss value is their sum.
    ``pred`` is the network output, ``(B, out_channels, H, W)``; ``target`` is the true ab scaled
    to about [-1, 1], ``(B, 2, H, W)``. ``context`` carries optional extras by keyword (for example
    ``L``, the input lightness, ``(B, 1, H, W)``).

    A loss that needs another output than ab (class logits, say) sets ``out_channels`` and
    overrides :meth:`decode`, which turns the network output into ab for colorizing. Those class
    attributes (``needs_prepare``, ``supports_pixel_weights`` too) and their defaults are
    :class:`colorkit.contracts.LossContract`'s.

    Two optional hooks let a loss learn something itself; the trainer calls them and checkpoints
    the loss's buffers, its trainable parameters and its optimiser, so resume restores them:

    - :meth:`prepare` runs once before training over the training set's ab (a colour prior, say);
      set ``needs_prepare = True`` to get it.
    - :meth:`configure_optimizer` and :meth:`auxiliary_step` train a part of the loss beside the
      network, after each of the network's steps (a GAN discriminator, say).

    Frozen parameters (``requires_grad=False``, such as a pretrained feature network) are not
    written to checkpoints: they come from the loss's own source each time.
    """

    def prepare(self, ab_batches: Iterable[torch.Tensor], cache_dir: Path) -> None:
        """Look once at the training set's true ab, ``(B, 2, H, W)`` batches scaled to [-1, 1].

        Cache what is computed under ``cache_dir`` (the run directory) so a resume reuses it.
        """

    def configure_optimizer(self) -> torch.optim.Optimizer | None:
        """The optimiser of the loss's own trainable part, or None."""
        return None

    def auxiliary_step(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, float]:
        """Train the loss's own part on a detached prediction; returns named values to log."""
        return {}

    def terms(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def pixel_weights(self, err: torch.Tensor, context: dict) -> torch.Tensor | None:
        """``context["pixel_weights"]`` (``(B, 1, H, W)``, >= 0, from a recipe's ``part_weights``) checked
        against the error map ``(B, C, H, W)`` or ``(B, H, W)`` and in its dtype; None without it."""
        w = context.get("pixel_weights")
        if w is None:
            return None
        if w.ndim != 4 or w.shape[1] != 1 or w.shape[0] != err.shape[0] or w.shape[-2:] != err.shape[-2:]:
            raise ValueError(f"{type(self).__name__}: pixel_weights must have shape (B, 1, H, W) matching {tuple(err.shape)}, got {tuple(w.shape)}")
        return w.to(err.dtype)

    def pixel_mean(self, err: torch.Tensor, context: dict) -> torch.Tensor:
        """Mean of a per-pixel error ``(B, C, H, W)`` or ``(B, H, W)``: ``sum(w * err) / sum(w)`` with the
        :meth:`pixel_weights` shared by the channels; without them, the plain mean."""
        w = self.pixel_weights(err, context)
        if w is None:
            return err.mean()
        e = err if err.ndim == 4 else err.unsqueeze(1)
        w = w.expand_as(e)
        return (w * e).sum() / w.sum().clamp_min(1e-12)

    def lightness(self, pred: torch.Tensor, context: dict, name: str) -> torch.Tensor:
        """The normalised input L from ``context`` for a loss that needs it, checked against ``pred``."""
        L = context.get("L")
        if L is None:
            raise ValueError(
                f"{name}: needs the input lightness as L= (normalised, (B, 1, H, W)); "
                "the trainer passes it, direct callers must too"
            )
        if not isinstance(L, torch.Tensor) or L.ndim != 4 or L.shape[1] != 1 or L.shape[0] != pred.shape[0] or L.shape[-2:] != pred.shape[-2:]:
            got = tuple(L.shape) if isinstance(L, torch.Tensor) else type(L).__name__
            raise ValueError(f"{name}: L must have shape (B, 1, H, W) matching the prediction {tuple(pred.shape)}, got {got}")
        return L.to(pred.dtype)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, torch.Tensor]:
        name = type(self).__name__
        if pred.ndim != 4 or target.ndim != 4:
            raise ValueError(f"{name}: expected (B, C, H, W) tensors, got {tuple(pred.shape)} and {tuple(target.shape)}")
        if pred.shape[0] != target.shape[0] or pred.shape[-2:] != target.shape[-2:]:
            raise ValueError(f"{name}: prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in batch or size")
        if pred.shape[1] != self.out_channels or target.shape[1] != 2:
            raise ValueError(
                f"{name}: expected {self.out_channels} predicted and 2 target channels, "
                f"got {pred.shape[1]} and {target.shape[1]}"
            )
        return self.terms(pred, target, **context)
