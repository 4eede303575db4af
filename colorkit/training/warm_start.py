"""``model.init``: start a run from a pretrained model, another run or a checkpoint (fine-tuning).

The recipe must build exactly the network the weights were saved from: the same registered model,
options and channel counts, and the same preprocessors. Anything that differs is named in one line
before a run directory is created. One difference is bridged: a recipe with ``[hints]`` may start
from a model without hint channels (or ``[hints.spread]`` from a hint model without spread channels);
the weights that read the network input get the channels it lacks as new input channels with zero
weights, so without hints the start gives exactly the old model's output.

``model.freeze_norm_stats`` keeps the start's batch-norm statistics through the run: see
:func:`freeze_norm_stats`; the start must have some.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from colorkit import checkpoint as ckpt
from colorkit.contracts import checkpoint_state
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.hints import hint_channels
from colorkit.inference.colorizer import find_checkpoint


def _differences(saved: dict, wanted: dict, added: int) -> list[str]:
    """What differs between the saved network and the wanted one that takes ``added`` more input channels."""
    out = []
    for key in ("name", "in_channels", "out_channels"):
        have, shown = saved.get(key), repr(saved.get(key))
        if key == "in_channels" and added and isinstance(have, int):
            have, shown = have + added, f"{have!r} + {added} hint channels"
        if have != wanted.get(key):
            out.append(f"{key} {shown} (recipe: {wanted.get(key)!r})")
    saved_args, wanted_args = saved.get("args") or {}, wanted.get("args") or {}
    for key in sorted(set(saved_args) | set(wanted_args)):
        if saved_args.get(key, "(unset)") != wanted_args.get(key, "(unset)"):
            out.append(f"args.{key} {saved_args.get(key, '(unset)')!r} (recipe: {wanted_args.get(key, '(unset)')!r})")
    return out


def _checked(init: str, spec: dict, preprocess: list[dict], host, hints: dict | None, frozen_stats: bool) -> tuple[Path, dict, int]:
    """The checkpoint ``init`` names, its tensors (read once) and the number of hint channels its
    network lacks (those of the recipe's ``hints`` settings that come after the saved model's own),
    after checking that it holds the network ``spec`` describes (with batch-norm statistics if
    ``frozen_stats``)."""
    try:
        file = find_checkpoint(init, host)
        tensors, meta = ckpt.read_checkpoint(file)
    except CheckpointError as exc:
        raise ColorkitError(f"model.init: {exc}") from None
    saved = meta.get("model")
    if not isinstance(saved, dict):
        raise ColorkitError(f"model.init: {file} has no model description; it is not a colorkit checkpoint of a network")
    want, have = hint_channels(hints), hint_channels(meta.get("hints"))
    added = len(want) - len(have) if want[: len(have)] == have else 0
    differs = _differences(saved, spec, added)
    if (meta.get("preprocess") or []) != preprocess:
        differs.append(f"preprocessors {meta.get('preprocess') or []} (recipe: {preprocess})")
    if differs:
        raise ColorkitError(
            f"model.init: {init!r} holds a different network than this recipe builds: {'; '.join(differs)}. "
            f"Set [model] and [[preprocess]] as they were trained ({saved.get('name')} with args {saved.get('args')})"
        )
    if frozen_stats and not any(key.endswith(".running_mean") for key in tensors):
        raise ColorkitError(
            f"model.freeze_norm_stats: {init!r} ({saved.get('name')}) has no batch-norm layer, so there are no statistics to keep; drop the key"
        )
    return file, tensors, added


def _widened(tensors: dict[str, torch.Tensor], model: nn.Module, added: int) -> dict[str, torch.Tensor]:
    """``tensors`` with each of ``model``'s weights that reads the network input (its shape differs
    only in dim 1, by ``added``) grown to take ``added`` more input channels, with zero weights."""
    wanted = {f"model.{k}": v for k, v in checkpoint_state(model).items()}
    out = dict(tensors)
    for key, old in tensors.items():
        new = wanted.get(key)
        if new is None or old.dim() < 2 or new.dim() != old.dim():
            continue
        if new.shape[1] == old.shape[1] + added and new.shape[:1] == old.shape[:1] and new.shape[2:] == old.shape[2:]:
            grown = old.new_zeros(new.shape)
            grown[:, : old.shape[1]] = old
            out[key] = grown
    return out


def check(init: str, spec: dict, preprocess: list[dict], host, hints: dict | None = None, frozen_stats: bool = False) -> None:
    """Refuse, in one line, weights that do not fit the network ``spec`` describes (nothing is built);
    ``hints``: the recipe's ``[hints]`` settings (a model with fewer hint channels may start it);
    ``frozen_stats``: ``model.freeze_norm_stats``, which needs batch-norm statistics in the weights."""
    _checked(init, spec, preprocess, host, hints, frozen_stats)


def load(model: nn.Module, init: str, spec: dict, preprocess: list[dict], host, hints: dict | None = None, frozen_stats: bool = False) -> None:
    """Check the weights ``init`` names against ``spec`` (as :func:`check`) and copy them into ``model``,
    reading them once (from a model without hint channels into a hint model: see the module's docstring)."""
    file, tensors, added = _checked(init, spec, preprocess, host, hints, frozen_stats)
    ckpt.load_modules(file, _widened(tensors, model, added) if added else tensors, {"model": model})


def freeze_norm_stats(model: nn.Module) -> None:
    """Put ``model``'s batch-norm layers in eval mode (``model.freeze_norm_stats``): they normalise with
    their running statistics and no longer update them. Call after ``model.train()``."""
    for layer in model.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()
