"""Where the network runs: eager torch or ONNX Runtime, behind one small interface.

A backend maps the network input ``(B, C, S, S)`` (normalised L plus any preprocessor channels, see
:meth:`colorkit.inference.colorizer.Colorizer.network_inputs`) to ab normalised by ``AB_SCALE``,
``(B, 2, S, S)``: ``decode(model(x))``. The ONNX graph has the decode inside it.

``auto`` picks ONNX Runtime on a CPU when it is installed (faster on the dev CPU for every measured
case, see docs/performance.md), else torch; on a GPU it picks torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from colorkit.errors import ColorkitError

BACKENDS = ("torch", "onnxruntime", "auto")
INSTALL_HINT = 'pip install "colorkit[onnx]"'


class Backend(Protocol):
    """Runs the network and its decoder on a batch."""

    name: str

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, S, S)`` network input -> ``(B, 2, S, S)`` ab / AB_SCALE on ``x``'s device."""


def require(module: str):
    """Import ``onnx`` or ``onnxruntime``, or a ColorkitError naming the extra that installs them."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ColorkitError(f"ONNX support needs the package '{module}', which is not installed: {INSTALL_HINT}") from None


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose(backend: str, device: torch.device) -> str:
    """The concrete backend for ``--backend`` on ``device`` ("auto": see the module docstring)."""
    if backend not in BACKENDS:
        raise ColorkitError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "onnxruntime" if device.type == "cpu" and onnxruntime_available() else "torch"
    return backend


class TorchBackend:
    """An eager torch module and its decoder."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, decode: Callable[[torch.Tensor], torch.Tensor]):
        self.model, self.decode = model, decode

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.model(x))


class OnnxBackend:
    """An ``onnxruntime.InferenceSession`` of a model written by :func:`colorkit.inference.export.export_onnx`."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, device: torch.device | None = None, threads: int | None = None):
        ort = require("onnxruntime")
        self.path = Path(path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        if device is not None and device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for every bad file
            raise ColorkitError(f"{self.path}: not a readable ONNX model ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def colorkit_meta(self) -> dict:
        """The checkpoint metadata stored in the model by the exporter (model spec, size, decoder, ...)."""
        try:
            meta = json.loads(self.metadata["colorkit"])
        except (KeyError, json.JSONDecodeError):
            raise ColorkitError(f"{self.path}: an ONNX model, but not one written by `colorkit export` (no 'colorkit' metadata)") from None
        if not isinstance(meta, dict) or "size" not in meta:
            raise ColorkitError(f"{self.path}: corrupt colorkit metadata in the ONNX model")
        return meta

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feed = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        out = self.session.run(None, {self.input_name: feed})[0]
        return torch.from_numpy(out).to(x.device)
