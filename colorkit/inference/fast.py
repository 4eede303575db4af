"""Inference fast paths: conv+BatchNorm folding, channels_last, autocast, torch.compile.

Measured on the 2-core CPU dev machine in docs/performance.md, which also says which ones are on by
default (:data:`DEFAULTS`) and why the others are opt-in. Every path keeps ``model(x)`` the same call,
so backends and decoders need not know which ones ran.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

FOLD_TOLERANCE = 1e-4
"""Folding is kept only when the folded model's output matches the original's to this (relative to its scale)."""


@dataclass(frozen=True)
class FastOptions:
    """Which inference fast paths to apply (see docs/performance.md for what each is worth)."""

    fold_bn: bool = True
    """Fold eval-mode BatchNorm into the convolution before it (exact up to rounding): kept, it helps."""
    channels_last: bool = True
    """NHWC weights (and so activations): kept, it helps most on the dev CPU (oneDNN convolutions)."""
    amp: str | None = None
    """Autocast dtype, "bf16" or "fp16" (CUDA only); None runs in float32. Opt-in: it changes the output."""
    compile: bool = False
    """``torch.compile`` the model: opt-in (a long first call)."""


DEFAULTS = FastOptions()


def amp_dtype(amp: str | None, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` (None: no autocast); fp16 autocast is for CUDA only."""
    if amp in (None, "none"):
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError("amp 'fp16' needs CUDA; use 'bf16' on a CPU")
        return torch.float16
    raise ValueError(f"amp must be 'bf16', 'fp16' or none, got {amp!r}")


def autocast(device: torch.device, amp: str | None):
    """An autocast context for ``amp`` on ``device``, or a no-op one."""
    dtype = amp_dtype(amp, device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def _conv_bn_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """(conv, bn) module names where the BatchNorm's input is the Conv2d's output, seen in one forward pass."""
    produced: dict[int, tuple[str, int]] = {}
    keep: list[torch.Tensor] = []  # hold the outputs so their ids stay unique during the pass
    pairs: list[tuple[str, str]] = []
    handles = []

    def conv_hook(name):
        def hook(module, args, output):
            produced[id(output)] = (name, output._version)
            keep.append(output)
        return hook

    def bn_hook(name):
        def hook(module, args):
            conv, version = produced.get(id(args[0]), (None, None))
            # an in-place op in between (ReLU(inplace=True)) returns the same tensor with a new version
            if conv is not None and args[0]._version == version:
                pairs.append((conv, name))
        return hook

    for name, module in model.named_modules():
        if type(module) is nn.Conv2d:
            handles.append(module.register_forward_hook(conv_hook(name)))
        elif type(module) is nn.BatchNorm2d and module.track_running_stats:
            handles.append(module.register_forward_pre_hook(bn_hook(name)))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    convs = [c for c, _ in pairs]
    return [(c, b) for c, b in pairs if convs.count(c) == 1]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    scale = float(b.abs().max().clamp_min(1.0))
    return a.shape == b.shape and float((a - b).abs().max()) <= FOLD_TOLERANCE * scale


def fold_batchnorm(model: nn.Module, example: torch.Tensor) -> int:
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d into it, in place.

    The pairs are found by running ``example`` (a batch of the input's shape) through the model, so it
    works for any architecture, smp encoders included; the BatchNorm becomes an Identity. The result
    is checked on a random input of that shape and everything is put back when it differs by more than :data:`FOLD_TOLERANCE` (a conv output
    that is also used elsewhere, say). Returns the number of folded pairs. ``model`` must be in eval mode.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (BatchNorm must use its running statistics)")
    with torch.inference_mode(False):  # the version counters below, and folded weights that are normal tensors
        return _fold(model, example.clone())


def _fold(model: nn.Module, example: torch.Tensor) -> int:
    pairs = _conv_bn_pairs(model, example)
    if not pairs:
        return 0
    probe = torch.randn(example.shape, generator=torch.Generator().manual_seed(0)).to(example)
    with torch.no_grad():
        before = model(probe).clone()
    originals = []
    for conv_name, bn_name in pairs:
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        originals += [(conv_name, conv), (bn_name, bn)]
        _replace(model, conv_name, fuse_conv_bn_eval(conv, bn))
        _replace(model, bn_name, nn.Identity())
    with torch.no_grad():
        after = model(probe)
    if not _close(after, before):
        for name, module in reversed(originals):
            _replace(model, name, module)
        return 0
    return len(pairs)


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


class Autocast(nn.Module):
    """Runs ``model`` under autocast to ``dtype`` and returns float32, so callers see no difference."""

    def __init__(self, model: nn.Module, device_type: str, dtype: torch.dtype):
        super().__init__()
        self.model, self.device_type, self.dtype = model, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.model(x).float()


def prepare_for_inference(model: nn.Module, example: torch.Tensor, options: FastOptions = DEFAULTS) -> nn.Module:
    """The model ready for inference with ``options``: eval mode, BatchNorm folded, channels_last, autocast, compiled.

    ``example`` is one input batch on the model's device (its values do not matter, its shape does).
    Returns the model to call (wrapped in :class:`Autocast` with ``options.amp``, compiled with
    ``options.compile``); the weights are changed in place when folding, so keep no training
    reference to ``model`` afterwards.
    """
    model.eval()
    if options.fold_bn:
        fold_batchnorm(model, example)
    if options.channels_last:
        model.to(memory_format=torch.channels_last)
    dtype = amp_dtype(options.amp, example.device)
    if dtype is not None:
        model = Autocast(model, example.device.type, dtype)
    if options.compile:
        model = torch.compile(model)
    return model
