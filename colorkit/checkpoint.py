"""Checkpoints as single safetensors files, written atomically.

Tensors are stored under prefixes (``model.``, ``optim.<name>.``, ``rng.``); everything else (the
model's registry name and options, the training state, optimiser hyper-parameters) is JSON in the
safetensors metadata under the key ``colorkit``. One file per checkpoint means a crash leaves either
the previous checkpoint or the new one, never a pair that disagrees.

The metadata also holds a digest of the tensors (:func:`weights_digest`), checked on every read, so
weights changed or damaged after they were written are refused instead of colouring photos black;
so are NaN or infinite weights, digest or not.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from safetensors import safe_open

from colorkit.contracts import checkpoint_state, load_checkpoint_state
from colorkit.data.images import printable
from colorkit.errors import CheckpointError
from colorkit.files import atomic_write_bytes, atomic_write_json

FORMAT = 1

_NOTED: set[str] = set()
"""Checkpoints without a digest whose note was printed already (once per file and process)."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_spec(v, *ints: str) -> bool:
    """A registry spec: ``{"name": str, "args": dict}`` plus the integer keys ``ints``."""
    return isinstance(v, dict) and isinstance(v.get("name"), str) and isinstance(v.get("args"), dict) and all(_is_int(v.get(k)) for k in ints)


_SCHEMA = {
    "format": ("an integer", _is_int),
    "digest": ("a string", lambda v: isinstance(v, str)),
    "size": ("a positive integer", lambda v: _is_int(v) and v > 0),
    "recipe": ("a string", lambda v: isinstance(v, str)),
    "model": ("a table with name, args, in_channels and out_channels", lambda v: _is_spec(v, "in_channels", "out_channels")),
    "decoder": ("null or a table with name and args", lambda v: v is None or _is_spec(v)),
    "preprocess": ("a list of tables", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)),
    "optimizers": ("a table of tables", lambda v: isinstance(v, dict) and all(isinstance(x, dict) for x in v.values())),
    "state": ("a table whose epoch, batch, step and images are integers",
              lambda v: isinstance(v, dict) and all(_is_int(v[k]) for k in ("epoch", "batch", "step", "images") if k in v)),
}
"""What each known metadata key must hold (a key may be absent; its users say so)."""


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


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """``sha256:HEX`` over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}\0{str(t.dtype).removeprefix('torch.')}\0{list(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return f"sha256:{h.hexdigest()}"


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
        for key, value in checkpoint_state(module).items():
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
    info["digest"] = weights_digest(tensors)
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
    _check_meta(path, meta)
    _check_weights(path, tensors, meta.get("digest"))
    return tensors, meta


INFERENCE_KEYS = ("model", "size", "decoder", "preprocess", "hints")
"""The checkpoint metadata that inference needs (the rest is training state): what an exported ONNX
model and a packed pretrained model carry."""


def model_description(meta: dict, path: str | Path) -> tuple[dict, int]:
    """The model spec and training resolution a checkpoint's metadata holds (a CheckpointError if it lacks them)."""
    try:
        return meta["model"], int(meta["size"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: colorkit metadata lacks the model description") from None


def _check_meta(path: Path, meta: dict) -> None:
    for key, (what, ok) in _SCHEMA.items():
        if key in meta and not ok(meta[key]):
            shown = json.dumps(meta[key])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise CheckpointError(f"{path}: corrupt colorkit metadata: '{key}' should be {what}, not {shown}")


def _check_weights(path: Path, tensors: dict[str, torch.Tensor], digest: str | None) -> None:
    """Refuse tensors that differ from the digest saved with them, then non-finite ones; note (once) a
    file too old to carry a digest."""
    if digest is not None and digest != weights_digest(tensors):
        raise CheckpointError(
            f"{path}: the tensors do not match the digest saved with them: the file was changed or damaged after it "
            "was written; use another copy, or retrain"
        )
    for name in sorted(tensors):
        t = tensors[name]
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: tensor '{name}' holds NaN or infinite values; these weights are unusable (training diverged before they were saved)")
    if digest is None and str(path.resolve()) not in _NOTED:
        _NOTED.add(str(path.resolve()))
        print(f"note: {printable(str(path))} has no weight digest (written by an older colorkit); it cannot be checked", file=sys.stderr)


def load_modules(path: str | Path, tensors: dict[str, torch.Tensor], modules: dict[str, torch.nn.Module]) -> None:
    """Load ``modules`` from prefixed tensors; a mismatch (another model) is a clear CheckpointError."""
    for name, module in modules.items():
        prefix = f"{name}."
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            load_checkpoint_state(module, sd)
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
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: optimiser or RNG state does not fit this run ({type(exc).__name__}: {exc})") from None
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
