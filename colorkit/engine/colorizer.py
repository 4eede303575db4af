"""Colorize photos with a trained checkpoint.

The network sees the photo resized to its training size; its ab prediction is upsampled to the
photo's own size and joined with the photo's full-resolution L, so no detail is lost. Colour input
is treated as its L.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorkit.data.lab import AB_SCALE, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.engine import checkpoint as ckpt
from colorkit.engine.build import build_model, resolve_device
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.plugins import get_host


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the best (else last) checkpoint of a run directory."""
    path = Path(path)
    if path.is_dir():
        for name in ("best", "last"):
            candidate = path / "checkpoints" / f"{name}.safetensors"
            if candidate.is_file():
                return candidate
        raise CheckpointError(f"{path}: no checkpoints/best.safetensors or last.safetensors in this folder")
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint or run directory")
    return path


def check_network_size(spec: dict, host, size: int) -> int:
    """``size`` if the model can run at ``size x size`` (a multiple of its input stride), else a ColorkitError."""
    factory = host.models.get(spec["name"]).factory
    stride_fn = getattr(factory, "input_stride", None)
    stride = int(stride_fn(**spec["args"])) if stride_fn is not None else 1
    if size < max(stride, 8) or size % stride:
        lower, upper = max(size // stride * stride, stride, 8), (size // stride + 1) * stride
        raise ColorkitError(
            f"--size {size}: model '{spec['name']}' needs a multiple of its input stride {stride} (at least {max(stride, 8)}); "
            f"try {lower}" + (f" or {upper}" if upper != lower else "")
        )
    return size


def _to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).to(device).permute(2, 0, 1)[None].float() / 255.0


class Colorizer:
    """A trained network with its decoder, ready to colour ``(H, W, 3)`` uint8 photos."""

    def __init__(self, model: torch.nn.Module, decode, size: int, device: torch.device, source: str = "", trained_size: int | None = None):
        self.model, self.decode, self.size, self.device, self.source = model.eval(), decode, size, device, source
        self.trained_size = trained_size or size
        """The resolution the network was trained at; ``size`` may differ (``colorize --size``)."""

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", host=None, size: int | None = None) -> "Colorizer":
        """Load a checkpoint; ``size`` runs the network at another resolution than it was trained at
        (larger: more detail, more time), checked against the model's input stride."""
        host = host or get_host()
        file = find_checkpoint(path)
        tensors, meta = ckpt.read_checkpoint(file)
        try:
            spec, trained = meta["model"], int(meta["size"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{file}: colorkit metadata lacks the model description") from None
        dev = resolve_device(device)
        model = build_model(spec, host)
        ckpt.load_modules(file, tensors, {"model": model})
        decoder = meta.get("decoder")
        decode = host.losses.build(decoder["name"], **decoder["args"]).to(dev).decode if decoder else (lambda out: out)
        if size is not None:
            size = check_network_size(spec, host, size)
        return cls(model.to(dev), decode, size or trained, dev, str(file), trained_size=trained)

    @torch.inference_mode()
    def predict_ab(self, rgb_small: torch.Tensor) -> torch.Tensor:
        """ab in LAB units for a batch of ``(B, 3, size, size)`` RGB in [0, 1]."""
        L = normalize_l(rgb_to_lab(rgb_small)[:, :1])
        return self.decode(self.model(L)) * AB_SCALE

    def network_input(self, rgb: np.ndarray) -> np.ndarray:
        """The photo as the network sees it: resized to ``size x size`` (bicubic), like in training."""
        img = Image.fromarray(rgb)
        return np.asarray(img.resize((self.size, self.size), Image.Resampling.BICUBIC)) if img.size != (self.size, self.size) else rgb

    def colorize(self, rgb: np.ndarray) -> np.ndarray:
        """Colour one ``(H, W, 3)`` uint8 RGB photo; returns the same shape."""
        return self.colorize_many([rgb])[0]

    def predict_many(self, rgbs: list[np.ndarray]) -> torch.Tensor:
        """ab in LAB units at the network's size, ``(B, 2, size, size)``, for photos of any sizes."""
        return self.predict_ab(torch.cat([_to_tensor(self.network_input(r), self.device) for r in rgbs]))

    def colorize_many(self, rgbs: list[np.ndarray]) -> list[np.ndarray]:
        """Colour several photos (any sizes) with one network batch."""
        ab = self.predict_many(rgbs)
        return [self.join(r, ab[i : i + 1]) for i, r in enumerate(rgbs)]

    @torch.inference_mode()
    def join(self, rgb: np.ndarray, ab: torch.Tensor) -> np.ndarray:
        """The photo's own full-resolution L joined with ``ab`` upsampled to its size."""
        full = _to_tensor(rgb, self.device)
        L = rgb_to_lab(full)[:, :1]
        h, w = rgb.shape[:2]
        if ab.shape[-2:] != (h, w):
            ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
        out = lab_to_rgb(torch.cat([L, ab], 1))
        return (out[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
