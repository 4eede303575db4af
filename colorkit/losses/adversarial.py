"""Adversarial loss as in pix2pix: a conditional PatchGAN discriminator trained beside the network."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, StrictStr
from torch import nn

from colorkit.contracts import FiniteFloat, OptionsSchema, PositiveInt, options_signature, parse_options
from colorkit.errors import ColorkitError
from colorkit.losses.base import Loss

GAN_MODES = ("vanilla", "lsgan")


Beta = Annotated[FiniteFloat, Field(ge=0, lt=1)]


class AdversarialOptions(OptionsSchema):
    """adversarial options (see :class:`AdversarialLoss`); the discriminator's name and norm are checked when it is built."""

    discriminator: StrictStr = "patchgan"
    l1_weight: Annotated[FiniteFloat, Field(ge=0)] = 100.0
    gan_weight: Annotated[FiniteFloat, Field(ge=0)] = 1.0
    lr: Annotated[FiniteFloat, Field(gt=0)] = 2e-4
    betas: tuple[Beta, Beta] = (0.5, 0.999)
    gan_mode: Literal[GAN_MODES] = "vanilla"
    disc_width: PositiveInt = 64
    disc_layers: PositiveInt = 3
    disc_norm: StrictStr = "batch"


class AdversarialLoss(Loss):
    """pix2pix objective: conditional GAN + ``l1_weight`` x L1, with a PatchGAN trained beside the network.

    The discriminator sees ``cat(L, ab)`` (normalised lightness from the context and normalised ab),
    so it judges whether the colours fit this photo. Terms:

    - ``gan``: ``gan_weight`` x the network's adversarial loss (make D call the prediction real),
    - ``l1``: ``l1_weight`` x mean absolute ab error (pix2pix uses 100).

    The discriminator's parameters take no gradient from these terms (they are switched off while D
    scores the prediction), so the network's step never moves D. D learns in
    :meth:`auxiliary_step`, which the trainer calls after each network step on the detached
    prediction: one Adam step on ``(BCE(D(real), 1) + BCE(D(fake), 0)) / 2`` (squared errors for
    ``gan_mode = "lsgan"``). Its weights, buffers and optimiser state are in every checkpoint and
    restored on resume.

    Options:

    - ``discriminator``: a registered model name (default ``"patchgan"``), built with
      ``in_channels=3, out_channels=1, width=disc_width, layers=disc_layers, norm=disc_norm``.
    - ``l1_weight`` (default 100.0), ``gan_weight`` (default 1.0): the terms' weights (>= 0).
    - ``lr`` (default 2e-4) and ``betas`` (default [0.5, 0.999]): the discriminator's Adam.
    - ``gan_mode``: ``"vanilla"`` (default; BCE on logits) or ``"lsgan"`` (least squares).
    - ``disc_width`` (default 64), ``disc_layers`` (default 3: the 70x70 PatchGAN), ``disc_norm``
      (``"batch"`` as in pix2pix, ``"instance"``, ``"spectral"``, ``"none"``).
    """

    Options = AdversarialOptions

    def __init__(self, **options):
        super().__init__()
        opts = parse_options("adversarial", self.Options, options)
        self.l1_weight, self.gan_weight, self.lr = float(opts.l1_weight), float(opts.gan_weight), float(opts.lr)
        self.betas = (float(opts.betas[0]), float(opts.betas[1]))
        self.gan_mode = opts.gan_mode
        self.discriminator = discriminator = opts.discriminator
        width, layers, disc_norm = opts.disc_width, opts.disc_layers, opts.disc_norm
        from colorkit.plugins import get_host  # lazily: the plugin host sits above the losses

        try:
            self.disc: nn.Module = get_host().models.build(
                discriminator, in_channels=3, out_channels=1, width=width, layers=layers, norm=disc_norm
            )
        except ColorkitError as exc:  # unknown name: the registry lists the valid ones
            raise ValueError(f"adversarial: discriminator: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"adversarial: disc_width, disc_layers and disc_norm go to discriminator '{discriminator}' "
                f"as width, layers and norm: {exc}"
            ) from None
        self._optimizer: torch.optim.Optimizer | None = None

    # --- helpers ---------------------------------------------------------------------------------
    def _gan_loss(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.full_like(logits, 1.0 if real else 0.0)
        if self.gan_mode == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)

    def _score(self, logits: torch.Tensor) -> float:
        """Mean probability of 'real' (vanilla) or mean least-squares score (lsgan; 1 real, 0 fake)."""
        return float((torch.sigmoid(logits) if self.gan_mode == "vanilla" else logits).mean())

    # --- the network's terms ---------------------------------------------------------------------
    def terms(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, torch.Tensor]:
        L = self.lightness(pred, context, "adversarial")
        trainable = [p for p in self.disc.parameters() if p.requires_grad]
        for p in trainable:  # gradients flow through D to the prediction, never into D's weights
            p.requires_grad_(False)
        try:
            logits = self.disc(torch.cat([L, pred], dim=1))
        finally:
            for p in trainable:
                p.requires_grad_(True)
        return {
            "gan": self.gan_weight * self._gan_loss(logits, real=True),
            "l1": self.l1_weight * F.l1_loss(pred, target),
        }

    # --- the discriminator's own training --------------------------------------------------------
    def configure_optimizer(self) -> torch.optim.Optimizer:
        """The discriminator's Adam, created once (call after moving the loss to its device)."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.disc.parameters(), lr=self.lr, betas=self.betas)
        return self._optimizer

    def auxiliary_step(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, float]:
        """One discriminator step: real = (L, target), fake = (L, detached prediction)."""
        L = self.lightness(pred, context, "adversarial").detach()
        opt = self.configure_optimizer()
        was_training = self.disc.training
        self.disc.train()
        try:
            opt.zero_grad(set_to_none=True)  # whatever reached D's .grad before is not applied
            with torch.enable_grad():
                real = self.disc(torch.cat([L, target.to(pred.dtype)], dim=1).detach())
                fake = self.disc(torch.cat([L, pred], dim=1).detach())
                d_loss = 0.5 * (self._gan_loss(real, real=True) + self._gan_loss(fake, real=False))
            d_loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        finally:
            self.disc.train(was_training)
        return {"d_loss": float(d_loss.detach()), "d_real": self._score(real.detach()), "d_fake": self._score(fake.detach())}


AdversarialLoss.__signature__ = options_signature(AdversarialOptions)
