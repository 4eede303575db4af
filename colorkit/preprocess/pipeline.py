"""A recipe's preprocessors as one object: builds them, runs them on a photo, caches their outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorkit.contracts import preprocessor_cache_key, preprocessor_channels
from colorkit.errors import ColorkitError, RegistryError
from colorkit.preprocess import cache
from colorkit.preprocess.base import check_output, gray_u8, install_hint


class Preprocessors:
    """The ``[[preprocess]]`` list of a recipe (or a checkpoint), built from the registry.

    ``specs`` is a list of ``{"name", "args"}``; ``channels`` the names of all extra channels, in
    order. Calling it on a network-sized RGB photo returns float32 ``(C, H, W)`` in [0, 1].
    """

    def __init__(self, specs: list[dict], host):
        self.specs = [{"name": s["name"], "args": dict(s.get("args") or {})} for s in specs]
        self.steps = []
        for i, spec in enumerate(self.specs):
            try:
                step = host.preprocessors.build(spec["name"], **spec["args"])
            except RegistryError as exc:
                raise ColorkitError(f"preprocess.{i}.name: {exc}{install_hint(spec['name'])}") from None
            except (TypeError, ValueError) as exc:
                raise ColorkitError(f"preprocess.{i} ('{spec['name']}'): {exc}") from None
            names = preprocessor_channels(step)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ColorkitError(f"preprocessor '{spec['name']}' does not name its channels (a 'channels' tuple of strings)")
            self.steps.append((spec["name"], step, names))
        self.channels = [n for _, _, names in self.steps for n in names]
        twice = sorted({n for n in self.channels if self.channels.count(n) > 1})
        if twice:
            raise ColorkitError(f"preprocess: channel name {', '.join(map(repr, twice))} comes from more than one preprocessor")

    def __len__(self) -> int:
        return len(self.channels)

    def __call__(self, rgb: np.ndarray, source: Path | None = None) -> np.ndarray:
        """Channels of one ``(S, S, 3)`` uint8 photo at the network size; ``source`` (its file) enables the cache."""
        gray = gray_u8(rgb)
        size = gray.shape[0]
        parts = []
        for name, step, names in self.steps:
            key = preprocessor_cache_key(step)
            shape = (len(names), *gray.shape)
            path = cache.entry_path(name, key, source, size) if key is not None and source is not None else None
            out = cache.load(path, shape) if path is not None else None
            if out is None:
                out = check_output(name, step(gray), gray.shape, len(names))
                if key is not None:
                    q = cache.quantize(out)
                    if path is not None:
                        cache.save(path, q)
                    out = q.astype(np.float32) / 255.0
            parts.append(out)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def describe(self) -> str:
        return ", ".join(f"{name}({', '.join(names)})" for name, _, names in self.steps)

