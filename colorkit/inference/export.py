"""Export a checkpoint to ONNX: the network and its decoder in one graph, with a dynamic batch axis.

The graph maps ``x`` ``(batch, C, S, S)`` (the network input of
:meth:`colorkit.inference.colorizer.Colorizer.network_inputs`) to ``ab`` ``(batch, 2, S, S)``, normalised
by ``AB_SCALE`` (a rebalanced_ce checkpoint's 313 bin logits are decoded inside the graph). The
checkpoint's metadata travels in the model's ``metadata_props`` (``colorkit``: its JSON; also
``colorkit_version``, ``size``, ``model``, ``ab_scale`` for people reading the file), so running it
needs onnxruntime only, not the checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from colorkit import __version__
from colorkit.data.lab import AB_SCALE
from colorkit.checkpoint import INFERENCE_KEYS
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_bytes
from colorkit.inference.backends import OnnxBackend, require

OPSET = 18


class _Decoded(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, decode):
        super().__init__()
        self.model, self.decode = model, decode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.model(x))


@dataclass(frozen=True)
class ExportResult:
    path: Path
    size: int
    max_abs_diff: float
    """Largest difference between onnxruntime and torch on a random batch of 2 (ab / AB_SCALE units)."""


def export_onnx(colorizer, meta: dict, path: str | Path, *, check: bool = True, seed: int = 0) -> ExportResult:
    """Write ``colorizer``'s torch network + decoder to ``path`` (atomically) at ``colorizer.size``.

    ``meta`` is the checkpoint's metadata. The model is checked with ``onnx.checker``; with ``check``
    it is also run by onnxruntime on a random input and compared with torch.
    """
    onnx = require("onnx")
    require("onnxscript")  # torch's ONNX exporter is written with it
    if colorizer.model is None:
        raise ColorkitError(f"{colorizer.source}: already an ONNX model; export needs a checkpoint")
    path = Path(path)
    wrapper = _Decoded(colorizer.model, colorizer.decode).eval().cpu()
    generator = torch.Generator().manual_seed(seed)
    channels = int((meta.get("model") or {}).get("in_channels", 1))
    x = torch.rand((2, channels, colorizer.size, colorizer.size), generator=generator) * 2 - 1
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                wrapper, (x,), input_names=["x"], output_names=["ab"], opset_version=OPSET,
                dynamo=True, dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - the exporter raises many types; say which model failed
            raise ColorkitError(f"{colorizer.source}: ONNX export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    proto = program.model_proto
    info = {k: meta[k] for k in INFERENCE_KEYS if k in meta}
    info["size"], info["trained_size"] = colorizer.size, colorizer.trained_size
    props = {
        "colorkit": json.dumps(info), "colorkit_version": __version__, "size": str(colorizer.size),
        "model": json.dumps(meta.get("model")), "ab_scale": str(AB_SCALE),
    }
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, proto.SerializeToString())
    diff = float("nan")
    if check:
        with torch.inference_mode():
            expected = wrapper(x)
        diff = float((OnnxBackend(path)(x) - expected).abs().max())
    return ExportResult(path, colorizer.size, diff)


def cached_onnx(checkpoint: Path, colorizer, meta: dict, cache_dir: Path) -> Path:
    """The ONNX export of ``checkpoint`` at ``colorizer.size`` under ``cache_dir``, exported on first use.

    The name holds a hash of the checkpoint's bytes, the size and the colorkit and torch versions,
    so a changed checkpoint or a new release exports again.
    """
    digest = hashlib.sha256(checkpoint.read_bytes())
    digest.update(f"{colorizer.size}|{__version__}|{torch.__version__}".encode())
    path = cache_dir / "onnx" / f"{checkpoint.stem}-{digest.hexdigest()[:16]}.onnx"
    if not path.is_file():
        export_onnx(colorizer, meta, path, check=False)
    return path
