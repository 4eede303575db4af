"""Checkpoints as single safetensors files, written atomically.

Tensors are stored under prefixes (``model.``, ``optim.<name>.``, ``rng.``); everything else (the
model's registry name and options, the training state, optimiser hyper-parameters) is JSON in the
safetensors metadata under the key ``colorkit``. One file per checkpoint means a crash leaves either
the previous checkpoint or the new one, never a pair that disagrees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from safetensors import safe_open

from colorkit.engine.files import atomic_write_bytes, atomic_write_json
from colorkit.errors import CheckpointError

FORMAT = 1


def _flatten_optimizer(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict, prefix: str) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            pid, key = name[len(prefix):].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in info.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(values)
    opt.load_state_dict({"state": state, "param_groups": info["param_groups"]})


def save_checkpoint(
    path: str | Path,
    *,
    modules: dict[str, torch.nn.Module],
    meta: dict,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    state: dict | None = None,
) -> None:
    """Write modules (and optionally optimisers, RNG and training ``state``) to one safetensors file."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        state_fn = getattr(module, "checkpoint_state", module.state_dict)
        for key, value in state_fn().items():
            tensors[f"{name}.{key}"] = value.detach().cpu().contiguous()
    info = dict(meta, format=FORMAT)
    if optimizers is not None:
        info["optimizers"] = {}
        for name, opt in optimizers.items():
            t, extra = _flatten_optimizer(opt, f"optim.{name}.")
            tensors.update(t)
            info["optimizers"][name] = extra
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = s
    if state is not None:
        info["state"] = state
    data = st_save(tensors, metadata={"colorkit": json.dumps(info)})
    atomic_write_bytes(path, data)
    if state is not None:
        atomic_write_json(Path(path).with_suffix(".json"), {"state": state, "model": meta.get("model")})


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a checkpoint; a missing, corrupt or foreign file is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("colorkit")
        tensors = st_load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    if raw is None:
        raise CheckpointError(f"{path}: a safetensors file, but not a colorkit checkpoint (no 'colorkit' metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt colorkit metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: corrupt colorkit metadata (not a JSON object)")
    if isinstance(meta.get("format"), int) and meta["format"] > FORMAT:
        raise CheckpointError(f"{path}: written by a newer colorkit (checkpoint format {meta['format']}, this one reads {FORMAT}); upgrade colorkit")
    return tensors, meta


def load_modules(path: str | Path, tensors: dict[str, torch.Tensor], modules: dict[str, torch.nn.Module]) -> None:
    """Load ``modules`` from prefixed tensors; a mismatch (another model) is a clear CheckpointError."""
    for name, module in modules.items():
        prefix = f"{name}."
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            if hasattr(module, "load_checkpoint_state"):
                module.load_checkpoint_state(sd)
            else:
                module.load_state_dict(sd, strict=True)
        except (RuntimeError, ValueError, KeyError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"{path}: weights do not fit this {name} ({first})") from None


def restore_training(
    tensors: dict[str, torch.Tensor], meta: dict, optimizers: dict[str, torch.optim.Optimizer], path: str | Path = "checkpoint"
) -> None:
    """Restore optimiser and RNG state saved by :func:`save_checkpoint`; a weights-only file is a CheckpointError."""
    if "optimizers" not in meta or "rng.torch" not in tensors or "state" not in meta:
        raise CheckpointError(f"{path}: holds weights only (like best.safetensors), not the training state needed to resume")
    try:
        for name, opt in optimizers.items():
            _restore_optimizer(opt, tensors, meta["optimizers"][name], f"optim.{name}.")
        torch.set_rng_state(tensors["rng.torch"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: optimiser or RNG state does not fit this run ({type(exc).__name__}: {exc})") from None
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
