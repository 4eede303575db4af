"""The logger contract and the fan-out the trainer writes to.

A logger factory is registered with ``colorkit_register_loggers`` and called as
``factory(run_dir=..., recipe=..., start_step=..., **options)``. What it returns needs
``log_metrics(step, values)``, ``log_image(step, name, image)`` and ``close()``; :class:`Logger` is a
convenient base class. Tags are ``train/<term>``, ``train/lr``, ``train/images_per_s`` (every
``log.every_steps`` steps), ``epoch/<...>`` and ``val/<metric>`` (every epoch), and the image
``samples`` (gray | predicted | truth). The step is always the optimiser step, so runs with the same
batch size line up.

A logger that fails while logging is reported once and dropped: a tracker must never stop training.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from rich.markup import escape

from colorkit.contracts import LoggerContract
from colorkit.errors import ColorkitError


class Logger(LoggerContract):
    """Base class of a logger; subclasses override what they record (and ``check_available``:
    :class:`colorkit.contracts.LoggerContract`)."""

    def __init__(self, run_dir: Path, recipe: Any = None, start_step: int = 0):
        self.run_dir, self.recipe, self.start_step = Path(run_dir), recipe, start_step

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        """Record scalars ``values`` (tag -> number) at optimiser step ``step``."""

    def log_image(self, step: int, name: str, image: np.ndarray) -> None:
        """Record an ``(H, W, 3)`` uint8 RGB image under ``name`` at ``step``."""

    def close(self) -> None:
        """Flush and release everything; called once at the end of the run, also on errors."""


def to_image(image: Any) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 array from such an array, a PNG path or PNG bytes, or a ``(3, H, W)`` float tensor in [0, 1]."""
    from PIL import Image

    if isinstance(image, (str, Path)):
        image = Path(image).read_bytes()
    if isinstance(image, (bytes, bytearray)):
        return np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))
    if hasattr(image, "detach"):  # a torch tensor, channels first, [0, 1]
        image = (image.detach().float().clamp(0, 1).cpu().permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {array.shape} {array.dtype}")
    return array


def logger_names(log) -> list[str]:
    """The loggers a recipe's ``[log]`` section asks for, in order, without repeats."""
    names = (["tensorboard"] if log.tensorboard else []) + list(log.loggers)
    return list(dict.fromkeys(names))


class Loggers:
    """Every logger of a run behind one object; also a context manager that closes them.

    ``warn`` (a Rich ``console.print``, say) is told, once, about a logger that failed and was dropped.
    """

    def __init__(self, loggers: Iterable[tuple[str, Any]] = (), every_steps: int = 10, images: bool = True, warn=None):
        self.loggers = dict(loggers)
        self.every_steps, self.images, self.warn = every_steps, images, warn

    def __bool__(self) -> bool:
        return bool(self.loggers)

    def _each(self, method: str, *args) -> None:
        for name, logger in list(self.loggers.items()):
            try:
                getattr(logger, method)(*args)
            except Exception as exc:  # a tracker must not stop training
                del self.loggers[name]
                if self.warn is not None:
                    self.warn(f"[yellow]warning:[/] logger '{name}' failed and is switched off: {escape(f'{type(exc).__name__}: {exc}')}")
                try:
                    logger.close()
                except Exception:
                    pass

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        values = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self.loggers and values:
            self._each("log_metrics", step, values)

    def log_train_step(self, step: int, terms: dict[str, float], *, lr: float, images_per_s: float) -> None:
        """Every ``every_steps`` optimiser steps: the batch's loss terms, lr and throughput."""
        if self.loggers and step % self.every_steps == 0:
            values = {f"train/{k}": v for k, v in terms.items()}
            self.log_metrics(step, dict(values, **{"train/lr": lr, "train/images_per_s": images_per_s}))

    def log_epoch(self, record: dict) -> None:
        """One ``metrics.jsonl`` record: epoch means, lr, throughput and validation metrics."""
        if not self.loggers:
            return
        values = {f"epoch/train_{k}": v for k, v in (record.get("terms") or {}).items()}
        for key in ("lr", "images_per_s", "epoch"):
            if record.get(key) is not None:
                values[f"epoch/{key}"] = record[key]
        values.update({f"val/{k[4:]}": v for k, v in record.items() if k.startswith("val_") and v is not None})
        self.log_metrics(record["step"], values)

    def log_image(self, step: int, name: str, image: Any) -> None:
        if self.loggers and self.images:
            self._each("log_image", step, name, to_image(image))

    def close(self) -> None:
        self._each("close")
        self.loggers = {}

    def __enter__(self) -> "Loggers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_loggers(recipe, run_dir: Path, host, *, start_step: int = 0, warn=None) -> Loggers:
    """Build the loggers a recipe's ``[log]`` section asks for; a failure is one :class:`ColorkitError` line."""
    log = recipe.log
    registry = host.registries["loggers"]
    opened: list[tuple[str, Any]] = []
    try:
        for name in logger_names(log):
            entry = registry.get(name)
            try:
                opened.append((name, entry.factory(run_dir=Path(run_dir), recipe=recipe, start_step=start_step, **log.args.get(name, {}))))
            except ColorkitError:
                raise
            except Exception as exc:
                raise ColorkitError(f"logger '{name}' could not start: {type(exc).__name__}: {exc}") from None
    except BaseException:
        Loggers(opened).close()
        raise
    return Loggers(opened, every_steps=log.every_steps, images=log.images, warn=warn)
