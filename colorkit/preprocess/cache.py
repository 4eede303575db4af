"""Preprocessor outputs cached on disk, so an epoch does not recompute them.

Entries live under ``cache_root()/preprocess/`` (never in the data folder, which may be read-only),
one ``.npy`` per image, keyed by the file's resolved path, size and modification time, the
preprocessor's registry name and ``cache_key`` (its implementation and options) and the network
size. A changed file or option gets a new entry; stale ones are never read. Values are stored as
uint8 (1/255 steps), which is finer than anything a mask needs and a quarter of the space.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from colorkit.data.cache import cache_root


def entry_path(name: str, cache_key: str, source: Path, size: int) -> Path:
    """Where the output of preprocessor ``name`` for image file ``source`` at ``size`` is cached."""
    st = source.stat()
    options = hashlib.sha1(f"{name}\0{cache_key}\0{size}".encode()).hexdigest()[:16]
    image = hashlib.sha1(f"{source.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()
    return cache_root() / "preprocess" / f"{name}-{options}" / image[:2] / f"{image}.npy"


def load(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached channels as float32 in [0, 1], or None when absent or unreadable (then recomputed)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.shape != shape or arr.dtype != np.uint8:
        return None
    return arr.astype(np.float32) / 255.0


def quantize(channels: np.ndarray) -> np.ndarray:
    """Channels in [0, 1] rounded to the stored 1/255 steps, so fresh and cached values are identical."""
    return np.round(np.clip(channels, 0, 1) * 255).astype(np.uint8)


def save(path: Path, channels: np.ndarray) -> None:
    """Store :func:`quantize`'d uint8 channels, atomically (a temp file renamed into place).

    A cache that cannot be written (read-only home, full disk) is skipped: the value is recomputed.
    """
    buf = io.BytesIO()
    if channels.dtype != np.uint8:
        raise TypeError(f"mask cache: expected quantised uint8 channels, got {channels.dtype}")
    np.save(buf, channels, allow_pickle=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
