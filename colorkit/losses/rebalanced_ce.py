"""Classification over quantised ab with class rebalancing, after Zhang, Isola and Efros (2016)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated, Iterable

import numpy as np
import torch
from pydantic import Field
from torch.autograd.function import once_differentiable

from colorkit.contracts import FiniteFloat, OptionsSchema, options_signature, parse_options
from colorkit.data.lab import AB_SCALE
from colorkit.losses.ab_bins import NUM_BINS, bin_centres, gaussian_smooth, nearest_bins, soft_encode
from colorkit.losses.base import Loss

PRIOR_FILE = "ab_prior.npy"
"""Where :meth:`RebalancedCELoss.prepare` caches the smoothed prior, inside the run directory."""

_DECODE_ELEMENTS = 1 << 22
"""Decode at most this many logits at a time (16 MB of float32): one image from 128x128 up, or a few
small ones. Buffers this small are reused by the C allocator instead of mapped (and page-faulted) anew
for each chunk: with 64 MB chunks decoding took 1.4x as long on a CPU."""


def rebalancing_weights(prior: torch.Tensor, lam: float) -> torch.Tensor:
    """Zhang's class weights ``((1 - lam) p + lam / Q)**-1``, scaled so that ``sum(p * w) == 1``."""
    p = prior.to(torch.float64)
    w = 1.0 / ((1.0 - lam) * p + lam / p.numel())
    return w / (p * w).sum()


class RebalancedCEOptions(OptionsSchema):
    """rebalanced_ce options (see :class:`RebalancedCELoss`)."""

    lam: Annotated[FiniteFloat, Field(ge=0, le=1)] = 0.5
    sigma: Annotated[FiniteFloat, Field(gt=0)] = 5.0
    temperature: Annotated[FiniteFloat, Field(gt=0)] = 0.38
    soft_neighbours: Annotated[int, Field(strict=True, ge=1, le=NUM_BINS)] = 5


class RebalancedCELoss(Loss):
    """Zhang et al. 2016: cross-entropy over 313 ab bins, rebalanced towards rare colours; annealed-mean decoding.

    The network predicts logits over the 313 in-gamut ab bins (grid 10; see
    :mod:`colorkit.losses.ab_bins` for how the 313 are obtained); ``out_channels = 313`` makes the
    trainer build the recipe's model (cunet, unet, ...) with a 313-channel head, no copy of it.

    - Target: the true ab of each pixel soft-encoded, as Zhang did, over its ``soft_neighbours``
      nearest bins with Gaussian weights of ``sigma`` LAB units (``soft_neighbours = 1`` is a hard,
      nearest-bin encoding).
    - Rebalancing: the pixel's cross-entropy is weighted by the class weight of its nearest true bin,
      ``w = ((1 - lam) p + lam / Q)**-1`` normalised so that ``E_p[w] = 1``, where ``p`` is the prior:
      the empirical distribution of the training set's nearest bins, smoothed with a Gaussian of
      ``sigma`` LAB units. :meth:`prepare` computes it once and caches it as ``ab_prior.npy`` in the
      run directory (reused when present, so a resume keeps it); the weights are a buffer, saved in
      checkpoints. Before ``prepare`` the weights are uniform (plain soft cross-entropy).
    - The loss is the mean over pixels of weight times cross-entropy, in nats.
    - Decoding (colorizing, and ab for any other loss in the recipe): the annealed mean,
      ``softmax(logits / temperature)`` averaged over the bin centres; ``temperature = 1`` is the
      mean of the predicted distribution, towards 0 the mode. Zhang's default 0.38.

    Options, their defaults and constraints: :class:`RebalancedCEOptions`.
    """

    out_channels = NUM_BINS
    needs_prepare = True

    Options = RebalancedCEOptions

    def __init__(self, **options):
        super().__init__()
        opts = parse_options("rebalanced_ce", self.Options, options)
        self.lam, self.sigma, self.temperature = float(opts.lam), float(opts.sigma), float(opts.temperature)
        self.soft_neighbours = opts.soft_neighbours
        self.register_buffer("centres", bin_centres(), persistent=False)
        self.register_buffer("class_weights", torch.ones(NUM_BINS))

    def extra_repr(self) -> str:
        return f"lam={self.lam}, sigma={self.sigma}, temperature={self.temperature}, soft_neighbours={self.soft_neighbours}"

    # --- prior ---------------------------------------------------------------------------------
    def histogram(self, ab_batches: Iterable[torch.Tensor]) -> torch.Tensor:
        """Pixel counts per nearest bin, ``(313,)`` float64, over batches of normalised ab ``(B, 2, H, W)``."""
        counts = torch.zeros(NUM_BINS, dtype=torch.float64)
        for ab in ab_batches:
            idx = nearest_bins(ab.detach().float() * AB_SCALE, self.centres.to(ab.device))
            counts += torch.bincount(idx.flatten(), minlength=NUM_BINS).double().cpu()
        return counts

    def estimate_prior(self, ab_batches: Iterable[torch.Tensor]) -> torch.Tensor:
        """The smoothed empirical distribution of the batches' nearest bins, ``(313,)`` float64, sums to 1."""
        counts = self.histogram(ab_batches)
        total = float(counts.sum())
        if total <= 0:
            raise ValueError("rebalanced_ce: prepare saw no pixels; the training set gave no ab to estimate the prior from")
        return gaussian_smooth(counts / total, self.centres.cpu(), self.sigma)

    def set_prior(self, prior: torch.Tensor) -> None:
        """Set the class weights from a prior over the 313 bins."""
        self.class_weights.copy_(rebalancing_weights(prior, self.lam).to(self.class_weights))

    def prepare(self, ab_batches: Iterable[torch.Tensor], cache_dir: Path) -> None:
        """Estimate the prior from the training set's ab once, cached as ``cache_dir/ab_prior.npy``."""
        path = Path(cache_dir) / PRIOR_FILE
        if path.is_file():
            prior = _read_prior(path)
        else:
            prior = self.estimate_prior(ab_batches)
            _write_prior(path, prior)
        self.set_prior(prior)

    # --- loss and decoding ---------------------------------------------------------------------
    def terms(self, pred, target, **context):
        idx, w = soft_encode(target.float() * AB_SCALE, self.centres, self.soft_neighbours, self.sigma)
        weight = self.class_weights[idx[:, 0]]  # the weight of each pixel's nearest true bin
        return {"rebalanced_ce": _SoftCrossEntropy.apply(pred.float(), idx, w, weight)}

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        """Bin logits ``(B, 313, H, W)`` -> annealed-mean ab ``(B, 2, H, W)``, normalised by ``AB_SCALE``.

        Works on a few images at a time, so the full softmax of a large batch never exists at once
        (in one piece while exported to ONNX, where the batch size is not known). The softmax is
        never normalised in full: one product with the centres, extended by a column of ones, gives
        the weighted sum of the centres and the softmax's denominator together.
        """
        if output.ndim != 4 or output.shape[1] != NUM_BINS:
            raise ValueError(f"rebalanced_ce: decode expected (B, {NUM_BINS}, H, W) logits, got {tuple(output.shape)}")
        per_image = NUM_BINS * output.shape[-2] * output.shape[-1]
        step = max(1, _DECODE_ELEMENTS // max(1, per_image))
        exporting = torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()
        centres = self.centres.to(output.device) / AB_SCALE
        centres = torch.cat([centres, torch.ones_like(centres[:, :1])], dim=1)  # (313, 3)
        parts = []
        for chunk in [output] if exporting else output.split(step):
            chunk = chunk.float()
            # exp((x - max) / T): the softmax's numerator, computed in place in one fresh tensor
            e = (chunk - chunk.detach().amax(dim=1, keepdim=True)).mul_(1.0 / self.temperature).exp_()
            if e.is_contiguous():  # NCHW: per image, (3, 313) @ (313, H*W)
                sums = (centres.T @ e.flatten(2)).unflatten(2, e.shape[2:])
            else:  # channels-last (or any other layout): pixels as rows, (B, H, W, 313) @ (313, 3)
                sums = (e.permute(0, 2, 3, 1) @ centres).permute(0, 3, 1, 2)
            parts.append(sums[:, :2] / sums[:, 2:])
        return torch.cat(parts).to(output.dtype)


class _SoftCrossEntropy(torch.autograd.Function):
    """``mean(pixel_weight * sum_k w_k * -log_softmax(logits)[idx_k])`` over ``(B, H, W)``, with its gradient.

    The same value as ``log_softmax`` then ``gather``, at a fraction of the cost on a CPU: the forward
    pass makes one tensor the size of the logits (the softmax's numerator), and the backward pass
    turns that same tensor into the gradient in place, ``softmax * sum_k w_k - scatter(w)`` times
    ``pixel_weight / N``, instead of allocating a log-softmax, its gradient and a scatter target.
    """

    @staticmethod
    def forward(ctx, logits, idx, w, pixel_weight):
        top = logits.amax(dim=1, keepdim=True)
        e = (logits - top).exp_()
        total = e.sum(dim=1, keepdim=True)
        lse = total.log() + top
        loss = (pixel_weight * (w * (lse - logits.gather(1, idx))).sum(dim=1)).mean()
        ctx.save_for_backward(idx, w, pixel_weight, total)
        ctx.numerator = e
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        idx, w, pixel_weight, total = ctx.saved_tensors
        e = ctx.numerator
        if e is None:
            raise RuntimeError("rebalanced_ce: backward through the loss a second time (its buffer is reused for the gradient)")
        ctx.numerator = None
        scale = (grad * pixel_weight / pixel_weight.numel()).unsqueeze(1)  # (B, 1, H, W)
        e.mul_(scale * w.sum(dim=1, keepdim=True) / total)  # softmax * sum_k w_k * scale
        return e.scatter_add_(1, idx, -scale * w), None, None, None


def _read_prior(path: Path) -> torch.Tensor:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"rebalanced_ce: cannot read the cached prior {path} ({exc}); delete it to recompute") from None
    if arr.shape != (NUM_BINS,) or not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        raise ValueError(
            f"rebalanced_ce: the cached prior {path} is not a distribution over {NUM_BINS} bins "
            f"(shape {arr.shape}); delete it to recompute"
        )
    return torch.from_numpy(arr.astype(np.float64) / arr.sum())


def _write_prior(path: Path, prior: torch.Tensor) -> None:
    """Write atomically, so an interrupted run never leaves half a prior to be reused."""
    buf = io.BytesIO()
    np.save(buf, prior.double().cpu().numpy())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


RebalancedCELoss.__signature__ = options_signature(RebalancedCEOptions)
