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

from colorkit import checkpoint as ckpt
from colorkit.build import build_model, resolve_device
from colorkit.contracts import input_stride
from colorkit.data.images import is_image_name, is_video_name
from colorkit.data.lab import AB_SCALE, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.hints import Hint, hint_inputs, render_hints
from colorkit.inference import backends
from colorkit.inference.fast import DEFAULTS as FAST_DEFAULTS, FastOptions, prepare_for_inference
from colorkit.plugins import get_host
from colorkit.preprocess import Preprocessors


def find_checkpoint(path: str | Path, host=None) -> Path:
    """A checkpoint file, the best (else last) checkpoint of a run directory, or the checked weights
    of a pretrained model's name (downloaded on first use; see ``colorkit models``)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best", "last"):
            candidate = path / "checkpoints" / f"{name}.safetensors"
            if candidate.is_file():
                return candidate
        raise CheckpointError(f"{path}: no checkpoints/best.safetensors or last.safetensors in this folder")
    if path.exists():
        return path
    host = host or get_host()
    pretrained = host.registries["pretrained"]
    if str(path) in pretrained:
        card = pretrained.get(str(path)).factory
        if card.architecture not in host.models:
            needs = f"the plugin {card.plugin} (pip install {card.plugin})" if card.plugin else "a plugin that is not installed"
            raise CheckpointError(f"pretrained model '{card.name}' is a '{card.architecture}' network, which needs {needs}")
        return card()
    hint = pretrained.unknown_message(str(path)).split("; ", 1)[-1] if pretrained.names() else "no pretrained models are installed"
    raise CheckpointError(f"{path}: no such checkpoint, run directory or pretrained model; pretrained models: {hint}")


MODEL_SUFFIXES = (".safetensors", ".onnx")


def names_a_model(arg: str | Path, host=None) -> bool:
    """Whether a command-line argument names a model rather than a photo: a run directory, a
    ``.safetensors`` or ``.onnx`` file, a registered pretrained model that is not also a file here, or
    a path that does not exist and has no photo or video extension (a mistyped run or model name,
    which then gets the model's error message, with suggestions)."""
    path = Path(arg)
    if path.is_dir():
        return (path / "checkpoints").is_dir() or (path / "recipe.toml").is_file()
    if path.suffix.lower() in MODEL_SUFFIXES:
        return True
    if path.exists():
        return False
    return str(arg) in (host or get_host()).registries["pretrained"] or not (is_image_name(path) or is_video_name(path))


def check_network_size(spec: dict, host, size: int) -> int:
    """``size`` if the model can run at ``size x size`` (a multiple of its input stride), else a ColorkitError."""
    stride = input_stride(host.models.get(spec["name"]).factory, spec["args"])
    if size < max(stride, 8) or size % stride:
        lower, upper = max(size // stride * stride, stride, 8), (size // stride + 1) * stride
        raise ColorkitError(
            f"--size {size}: model '{spec['name']}' needs a multiple of its input stride {stride} (at least {max(stride, 8)}); "
            f"try {lower}" + (f" or {upper}" if upper != lower else "")
        )
    return size


def _to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).to(device).permute(2, 0, 1)[None].float() / 255.0


JOIN_TILE_PIXELS = 1 << 19
"""The full-resolution join works on row tiles of about this many pixels, so its float temporaries
stay a few MB whatever the photo's size (only the uint8 input and output scale with it)."""


def _upsample_rows(ab_w: torch.Tensor, height: int, start: int, stop: int) -> torch.Tensor:
    """Rows ``start:stop`` of ``ab_w`` ``(1, 2, h, W)`` resized to ``height`` rows: the same numbers as
    ``F.interpolate(mode="bilinear", align_corners=False)`` on the whole image, for a tile of it."""
    h = ab_w.shape[-2]
    src = ((torch.arange(start, stop, device=ab_w.device, dtype=torch.float32) + 0.5) * (h / height) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=h - 1)
    i1 = (i0 + 1).clamp(max=h - 1)
    lam = (src - i0).view(1, 1, -1, 1)
    return ab_w[:, :, i0] * (1 - lam) + ab_w[:, :, i1] * lam


class Colorizer:
    """A trained network with its decoder, ready to colour ``(H, W, 3)`` uint8 photos."""

    def __init__(
        self, model: torch.nn.Module | None, decode, size: int, device: torch.device, source: str = "", trained_size: int | None = None,
        preprocess: Preprocessors | None = None, backend: backends.Backend | None = None, hints: dict | None = None,
    ):
        self.model = model.eval() if model is not None else None
        self.decode, self.size, self.device, self.source = decode, size, device, source
        self.trained_size = trained_size or size
        """The resolution the network was trained at; ``size`` may differ (``colorize --size``)."""
        self.preprocess = preprocess
        """The checkpoint's preprocessors, whose channels follow L in the network input (or None)."""
        self.backend = backend or backends.TorchBackend(self.model, decode)
        """Runs ``decode(model(x))``: eager torch, or an ONNX Runtime session (``model`` is then None)."""
        self.hints = hints
        """The checkpoint's ``[hints]`` settings when the network takes hint channels, else None."""

    @property
    def takes_hints(self) -> bool:
        """Whether the network has hint channels (see :mod:`colorkit.hints`)."""
        return self.hints is not None

    def check_hints(self, hints) -> None:
        """Refuse, in one line, non-empty ``hints`` for a model without hint channels."""
        if hints and not self.takes_hints:
            raise ColorkitError(f"{self.source}: this model has no hint channels (it was trained without [hints]), so it cannot take hints")

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", host=None, size: int | None = None, backend: str = "torch",
             fast: FastOptions | None = FAST_DEFAULTS) -> "Colorizer":
        """Load a checkpoint (or a ``.onnx`` file from ``colorkit export``); ``size`` runs the network at
        another resolution than it was trained at (larger: more detail, more time), checked against the
        model's input stride. ``backend``: "torch", "onnxruntime" (a checkpoint is exported once to
        the cache) or "auto" (see :mod:`colorkit.inference.backends`); a ``.onnx`` file runs with onnxruntime."""
        host = host or get_host()
        if Path(path).suffix.lower() == ".onnx":
            return cls._load_onnx(Path(path), device=device, size=size, host=host)
        file = find_checkpoint(path)
        tensors, meta = ckpt.read_checkpoint(file)
        spec, trained = ckpt.model_description(meta, file)
        dev = resolve_device(device)
        model = build_model(spec, host)
        ckpt.load_modules(file, tensors, {"model": model})
        decoder = meta.get("decoder")
        decode = host.losses.build(decoder["name"], **decoder["args"]).to(dev).decode if decoder else (lambda out: out)
        if size is not None:
            size = check_network_size(spec, host, size)
        if fast is not None:  # inference fast paths (inference/fast.py; None: the model exactly as trained)
            model = prepare_for_inference(model.to(dev), torch.zeros(1, spec["in_channels"], size or trained, size or trained, device=dev), fast)
        preprocess = _preprocessors(meta, host, file)
        colorizer = cls(model.to(dev), decode, size or trained, dev, str(file), trained_size=trained, preprocess=preprocess, hints=meta.get("hints"))
        if backends.choose(backend, dev) == "onnxruntime":
            from colorkit.data.cache import cache_root
            from colorkit.inference.export import cached_onnx

            colorizer.backend = backends.OnnxBackend(cached_onnx(file, colorizer, meta, cache_root()), dev)
        return colorizer

    @classmethod
    def _load_onnx(cls, path: Path, *, device: str, size: int | None, host) -> "Colorizer":
        """A ``.onnx`` model always runs with onnxruntime, whatever ``backend`` says."""
        if not path.is_file():
            raise CheckpointError(f"{path}: no such ONNX model")
        dev = resolve_device(device)
        session = backends.OnnxBackend(path, dev)
        meta = session.colorkit_meta()
        exported = int(meta["size"])
        if size is not None and size != exported:
            raise ColorkitError(f"--size {size}: {path} was exported at {exported}; export again with `colorkit export ... --size {size}`")
        return cls(None, None, exported, dev, str(path), trained_size=int(meta.get("trained_size", exported)),
                   preprocess=_preprocessors(meta, host, path), backend=session, hints=meta.get("hints"))

    def network_input(self, rgb: np.ndarray) -> np.ndarray:
        """The photo as the network sees it: resized to ``size x size`` (bicubic), like in training."""
        img = Image.fromarray(rgb)
        return np.asarray(img.resize((self.size, self.size), Image.Resampling.BICUBIC)) if img.size != (self.size, self.size) else rgb

    def colorize(self, rgb: np.ndarray, hints: list[Hint] | None = None) -> np.ndarray:
        """Colour one ``(H, W, 3)`` uint8 RGB photo (with ``hints``, for a hint model); returns the same shape."""
        return self.colorize_many([rgb], None if hints is None else [hints])[0]

    def network_inputs(self, rgbs: list[np.ndarray], hints: list[list[Hint] | None] | None = None) -> torch.Tensor:
        """The network input ``(B, C, size, size)`` for photos of any sizes: normalised L, then the
        preprocessor channels computed on each photo's gray at the network size (as in training),
        then, for a hint model, each photo's hint channels (``hints``: one list per photo, or None)."""
        if hints is not None and len(hints) != len(rgbs):
            raise ValueError(f"{len(hints)} hint lists for {len(rgbs)} photos")
        self.check_hints(any(hints or []))
        small = [self.network_input(r) for r in rgbs]
        L = normalize_l(rgb_to_lab(torch.cat([_to_tensor(r, self.device) for r in small]))[:, :1])
        parts = [L]
        if self.preprocess is not None:
            parts.append(torch.from_numpy(np.stack([self.preprocess(np.asarray(r, dtype=np.uint8)) for r in small])).to(L))
        if self.takes_hints:
            per_photo = hints or [None] * len(rgbs)
            raw = torch.from_numpy(np.stack([render_hints(h, self.size) for h in per_photo])).to(L)
            parts.append(hint_inputs(L, raw, self.hints))
        return torch.cat(parts, 1) if len(parts) > 1 else L

    @torch.inference_mode()
    def run(self, x: torch.Tensor) -> torch.Tensor:
        """ab in LAB units ``(B, 2, size, size)`` for network inputs ``x`` (see :meth:`network_inputs`)."""
        return self.backend(x) * AB_SCALE

    @torch.inference_mode()
    def predict_many(self, rgbs: list[np.ndarray], hints: list[list[Hint] | None] | None = None) -> torch.Tensor:
        """ab in LAB units at the network's size, ``(B, 2, size, size)``, for photos of any sizes."""
        return self.run(self.network_inputs(rgbs, hints))

    def colorize_many(self, rgbs: list[np.ndarray], hints: list[list[Hint] | None] | None = None) -> list[np.ndarray]:
        """Colour several photos (any sizes) with one network batch (``hints``: one list per photo, or None)."""
        ab = self.predict_many(rgbs, hints)
        return [self.join(r, ab[i : i + 1]) for i, r in enumerate(rgbs)]

    @torch.inference_mode()
    def join(self, rgb: np.ndarray, ab: torch.Tensor) -> np.ndarray:
        """The photo's own full-resolution L joined with ``ab`` upsampled (bilinearly) to its size,
        in row tiles of about :data:`JOIN_TILE_PIXELS` so no full-size float copy is ever made."""
        h, w = rgb.shape[:2]
        ab = ab.to(self.device, torch.float32)
        if ab.shape[-1] != w:  # widths first (small: network-size rows), then heights per tile
            ab = F.interpolate(ab, size=(ab.shape[-2], w), mode="bilinear", align_corners=False)
        out = np.empty((h, w, 3), np.uint8)
        rows = max(1, JOIN_TILE_PIXELS // w)
        for start in range(0, h, rows):
            stop = min(h, start + rows)
            L = rgb_to_lab(_to_tensor(rgb[start:stop], self.device))[:, :1]
            tile_ab = ab[:, :, start:stop] if ab.shape[-2] == h else _upsample_rows(ab, h, start, stop)
            tile = lab_to_rgb(torch.cat([L, tile_ab], 1))
            out[start:stop] = (tile[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
        return out


def _preprocessors(meta: dict, host, source) -> Preprocessors | None:
    """The checkpoint's preprocessors (its ``preprocess`` metadata), or None."""
    try:
        return Preprocessors(meta["preprocess"], host) if meta.get("preprocess") else None
    except ColorkitError as exc:
        raise CheckpointError(f"{source}: the model was trained with preprocessors this installation cannot build ({exc})") from None
