"""Where colorkit keeps what it computes once per dataset (decoded images, face-part masks).

``COLORKIT_CACHE_DIR`` overrides the default ``~/.cache/colorkit`` (``$XDG_CACHE_HOME/colorkit``).
Data folders may be read-only (a shared archive, a CI copy), so caches never live inside them.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from colorkit.errors import ColorkitError


def cache_root() -> Path:
    """The folder for colorkit's caches (created on first use by whoever writes into it)."""
    if os.environ.get("COLORKIT_CACHE_DIR"):
        return Path(os.environ["COLORKIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorkit"


# --- decoded-image cache ---------------------------------------------------------------------------

CACHE_FORMAT = 1
"""Bumped whenever decoding or resizing changes, so old caches are never trusted."""

_MAGIC = b"CKDC"
_HEADER = 64  # magic, format, count, size; then one int64 entry per image, then the rows
_UMASK = os.umask(0)
os.umask(_UMASK)


def cache_key(files: list[Path], size: int) -> str:
    """A hash of the file list (absolute paths), each file's size and mtime, the network size and the cache format."""
    h = hashlib.sha256(f"{CACHE_FORMAT}/{size}/{len(files)}".encode())
    for f in files:
        try:
            st = os.stat(f)
            stamp = f"{st.st_size}/{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(os.fsencode(os.path.abspath(f)) + b"\0" + stamp.encode() + b"\0")
    return h.hexdigest()[:32]


class DecodedCache:
    """uint8 RGB images at ``size x size`` in one memory-mapped file per (file list, size).

    Filled lazily: the first epoch decodes as usual and writes each image's row; later epochs read it.
    One int64 entry per image says what is stored: 0 nothing yet, -1 the file failed to decode (it
    stays an error entry and is decoded again, so it is reported every time), otherwise the row's
    CRC-32 plus one. The entry is written after the row and checked against it on every read, so a
    crash, even one that tears a page, never leaves a row that is trusted half-written. Rows are
    written with ``pwrite`` (a full disk is an error, not a crash) into space reserved when the file is
    created (atomically, by linking a finished temp file into place). Each process (each DataLoader
    worker, each distributed rank) opens the file for itself; two that fill the same row write the same
    bytes. A changed file list, file size or mtime gives another key and so a fresh cache file.
    """

    def __init__(self, files: list[Path], size: int, root: Path | None = None):
        self.n, self.size = len(files), size
        self.row = 3 * size * size
        folder = (root or cache_root()) / "decoded"
        self.path = folder / f"{cache_key(files, size)}-{size}px.u8"
        self._pid: int | None = None
        self._fd = -1
        self._table = self._rows = None
        if not self.path.exists():
            self._create(folder)

    def _create(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise ColorkitError(f"data.cache: cannot create a cache in {folder} ({exc.strerror or exc}); set COLORKIT_CACHE_DIR or data.cache = false") from None
        try:
            header = _MAGIC + struct.pack("<iqq", CACHE_FORMAT, self.n, self.size)
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
            os.pwrite(fd, header.ljust(_HEADER, b"\0"), 0)
            total = _HEADER + 8 * self.n + self.row * self.n
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, total)
            else:
                os.ftruncate(fd, total)
            os.fsync(fd)
            os.close(fd)
            fd = -1
            try:
                os.link(tmp, self.path)  # fails if another process got there first: then use theirs
            except FileExistsError:
                pass
        except OSError as exc:
            raise ColorkitError(
                f"data.cache: cannot create {self.path} ({exc.strerror or exc}); free some space, set COLORKIT_CACHE_DIR "
                "or data.cache = false"
            ) from None
        finally:
            if fd >= 0:
                os.close(fd)
            os.unlink(tmp)

    def _open(self) -> None:
        """Open (once per process: DataLoader workers are forked or spawned copies) the file and its maps."""
        if self._pid == os.getpid():
            return
        try:
            self._fd = os.open(self.path, os.O_RDWR)
            with open(self.path, "rb") as f:
                head = f.read(_HEADER)
        except OSError as exc:
            raise ColorkitError(f"data.cache: cannot open {self.path} ({exc.strerror or exc}); delete it or set data.cache = false") from None
        if head[:4] != _MAGIC or struct.unpack("<iqq", head[4:24]) != (CACHE_FORMAT, self.n, self.size):
            raise ColorkitError(f"data.cache: {self.path} is not a colorkit image cache for these files; delete it")
        self._table = np.memmap(self.path, dtype=np.int64, mode="r", offset=_HEADER, shape=(self.n,))
        self._rows = np.memmap(self.path, dtype=np.uint8, mode="r", offset=_HEADER + 8 * self.n, shape=(self.n, self.size, self.size, 3))
        self._pid = os.getpid()

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _pid=None, _fd=-1, _table=None, _rows=None)

    def get(self, i: int) -> np.ndarray | None:
        """Image ``i`` as a (S, S, 3) uint8 array, or None when it must be decoded (not stored, or a failure)."""
        self._open()
        entry = int(self._table[i])
        if entry <= 0:
            return None
        rgb = np.array(self._rows[i])
        return rgb if zlib.crc32(rgb) + 1 == entry else None

    def put(self, i: int, rgb: np.ndarray | None) -> None:
        """Store image ``i`` (None: the file failed to decode)."""
        self._open()
        try:
            if rgb is None:
                os.pwrite(self._fd, struct.pack("<q", -1), _HEADER + 8 * i)
                return
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            os.pwrite(self._fd, rgb.tobytes(), _HEADER + 8 * self.n + self.row * i)
            os.pwrite(self._fd, struct.pack("<q", zlib.crc32(rgb) + 1), _HEADER + 8 * i)
        except OSError as exc:
            raise ColorkitError(f"data.cache: cannot write {self.path} ({exc.strerror or exc}); set data.cache = false") from None
