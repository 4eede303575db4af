"""``model.init``: start a run from a pretrained model, another run or a checkpoint (fine-tuning).

The recipe must build exactly the network the weights were saved from: the same registered model,
options and channel counts, and the same preprocessors. Anything that differs is named in one line
before a run directory is created.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from colorkit import checkpoint as ckpt
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.inference.colorizer import find_checkpoint


def _differences(saved: dict, wanted: dict) -> list[str]:
    out = []
    for key in ("name", "in_channels", "out_channels"):
        if saved.get(key) != wanted.get(key):
            out.append(f"{key} {saved.get(key)!r} (recipe: {wanted.get(key)!r})")
    saved_args, wanted_args = saved.get("args") or {}, wanted.get("args") or {}
    for key in sorted(set(saved_args) | set(wanted_args)):
        if saved_args.get(key, "(unset)") != wanted_args.get(key, "(unset)"):
            out.append(f"args.{key} {saved_args.get(key, '(unset)')!r} (recipe: {wanted_args.get(key, '(unset)')!r})")
    return out


def _checked(init: str, spec: dict, preprocess: list[dict], host) -> tuple[Path, dict]:
    """The checkpoint ``init`` names and its tensors, read once, after checking that it holds the
    network ``spec`` describes."""
    try:
        file = find_checkpoint(init, host)
        tensors, meta = ckpt.read_checkpoint(file)
    except CheckpointError as exc:
        raise ColorkitError(f"model.init: {exc}") from None
    saved = meta.get("model")
    if not isinstance(saved, dict):
        raise ColorkitError(f"model.init: {file} has no model description; it is not a colorkit checkpoint of a network")
    differs = _differences(saved, spec)
    if (meta.get("preprocess") or []) != preprocess:
        differs.append(f"preprocessors {meta.get('preprocess') or []} (recipe: {preprocess})")
    if differs:
        raise ColorkitError(
            f"model.init: {init!r} holds a different network than this recipe builds: {'; '.join(differs)}. "
            f"Set [model] and [[preprocess]] as they were trained ({saved.get('name')} with args {saved.get('args')})"
        )
    return file, tensors


def check(init: str, spec: dict, preprocess: list[dict], host) -> None:
    """Refuse, in one line, weights that do not fit the network ``spec`` describes (nothing is built)."""
    _checked(init, spec, preprocess, host)


def load(model: nn.Module, init: str, spec: dict, preprocess: list[dict], host) -> None:
    """Check the weights ``init`` names against ``spec`` and copy them into ``model``, reading them once."""
    file, tensors = _checked(init, spec, preprocess, host)
    ckpt.load_modules(file, tensors, {"model": model})
