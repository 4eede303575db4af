"""Colour many photo files with decoding, the network and encoding overlapped.

Three stages, so the network never waits for files:

1. a thread pool decodes each photo and builds its network input (Pillow and torch release the GIL);
   a large JPEG (over :data:`KEEP_PIXELS`) is decoded in draft mode, scaled down by a power of two
   while staying at least the network size, and its full-resolution pixels are not kept;
2. the calling thread runs the network on batches, in input order;
3. a second pool joins each photo's full-resolution L with its upsampled ab (re-decoding the large
   ones at full size there) and hands the result to ``save``.

At most ``prefetch`` batches are decoded ahead and ``prefetch`` batches wait to be saved, so memory
is bounded by those queues, not by the number of files. Results come back in input order; a file
that cannot be read, coloured or saved is reported with its reason and the rest go on.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from PIL import Image

from colorkit.data.images import open_image
from colorkit.errors import ColorkitError, ImageError
from colorkit.hints import Hint

KEEP_PIXELS = 1 << 22
"""Photos up to this many pixels (about 4 MP) are decoded once and kept until saved; larger JPEGs
are decoded small for the network and again at full size only when they are joined."""


@dataclass
class Outcome:
    """What became of one ``(source, destination)`` job: ``error`` is None when it was saved; ``note``
    says what the user should know about a saved one (only the first frame of an animation coloured)."""

    src: Path
    dst: Path
    error: str | None = None
    note: str | None = None


@dataclass
class _Decoded:
    src: Path
    dst: Path
    x: torch.Tensor | None = None
    """The network input ``(1, C, S, S)``."""
    photo: np.ndarray | None = None
    """The full-resolution photo, or None where it is decoded again when saved (a large JPEG)."""
    error: str | None = None
    note: str | None = None


def _header(path: Path) -> tuple[int, int]:
    """Pixels of a JPEG (0 for other formats) and the number of frames (GIF, WebP, TIFF pages)."""
    try:
        with Image.open(path) as img:
            return (img.width * img.height if img.format == "JPEG" else 0), int(getattr(img, "n_frames", 1) or 1)
    except Exception:  # noqa: BLE001 - open_image reports the real problem
        return 0, 1


def network_copy(colorizer, path: Path, large: bool | None = None, hints: list[Hint] | None = None) -> tuple[torch.Tensor, np.ndarray | None]:
    """The network input for ``path`` (with its ``hints``, for a hint model) and, unless it is a large
    JPEG, its full-resolution pixels.

    A large JPEG's input is built from a draft-mode decode (a downscaled copy), so the network's
    cost does not depend on the photo's size. ``large``: whether it is one, when the caller read the header."""
    if large is None:
        large = _header(path)[0] > KEEP_PIXELS
    if large:
        small = np.asarray(open_image(path, draft_size=colorizer.size))
        return colorizer.network_inputs([small], [hints]), None
    photo = np.asarray(open_image(path))
    return colorizer.network_inputs([photo], [hints]), photo


def colour_files(
    colorizer,
    jobs: Iterable[tuple[Path, Path]],
    save: Callable[[Path, Path, np.ndarray, np.ndarray], None],
    *,
    batch_size: int = 8,
    workers: int = 2,
    prefetch: int = 2,
    hints: Mapping[Path, list[Hint]] | None = None,
) -> Iterator[Outcome]:
    """Colour ``jobs`` and call ``save(src, dst, photo, coloured)`` for each; yields an :class:`Outcome`
    per job, in order, as soon as that job is done. ``hints``: the hints of the photos that have some.

    A batch the network cannot run (out of memory, say) is retried photo by photo. ``save`` may raise
    ``OSError``, ``ValueError`` or a ColorkitError: the job is then reported as not written.
    """
    jobs = list(jobs)

    def decode(src: Path, dst: Path) -> _Decoded:
        try:
            pixels, frames = _header(src)
            x, photo = network_copy(colorizer, src, large=pixels > KEEP_PIXELS, hints=(hints or {}).get(src))
            note = f"{src}: {frames} frames; only the first was coloured" if frames > 1 else None
            return _Decoded(src, dst, x, photo, note=note)
        except ImageError as exc:
            return _Decoded(src, dst, error=str(exc))

    def finish(item: _Decoded, ab: torch.Tensor) -> Outcome:
        try:
            photo = item.photo if item.photo is not None else np.asarray(open_image(item.src))
            coloured = colorizer.join(photo, ab)
        except ImageError as exc:
            return Outcome(item.src, item.dst, str(exc))
        except (RuntimeError, MemoryError) as exc:
            return Outcome(item.src, item.dst, f"{item.src}: could not colour: {_first_line(exc)}")
        try:
            save(item.src, item.dst, photo, coloured)
        except (OSError, ValueError, ColorkitError) as exc:
            return Outcome(item.src, item.dst, f"{item.src}: could not write {item.dst}: {exc}")
        return Outcome(item.src, item.dst, note=item.note)

    with ThreadPoolExecutor(workers, thread_name_prefix="colorkit-decode") as readers, \
            ThreadPoolExecutor(workers, thread_name_prefix="colorkit-save") as writers:
        ahead = batch_size * (prefetch + 1)
        decoding: deque[Future] = deque(readers.submit(decode, s, d) for s, d in jobs[:ahead])
        queued = len(decoding)
        saving: deque[Future | Outcome] = deque()
        while decoding:
            batch: list[_Decoded] = []
            while decoding and len(batch) < batch_size:
                batch.append(decoding.popleft().result())
                if queued < len(jobs):
                    decoding.append(readers.submit(decode, *jobs[queued]))
                    queued += 1
            good = [item for item in batch if item.error is None]
            coloured = dict(_run(colorizer, good))
            for item in batch:
                if item.error is not None:
                    saving.append(Outcome(item.src, item.dst, item.error))
                elif isinstance(coloured[id(item)], str):
                    saving.append(Outcome(item.src, item.dst, coloured[id(item)]))
                else:
                    saving.append(writers.submit(finish, item, coloured[id(item)]))
                item.x = None
            while len(saving) > batch_size * prefetch:
                yield _result(saving.popleft())
        while saving:
            yield _result(saving.popleft())


def _result(entry: Future | Outcome) -> Outcome:
    return entry.result() if isinstance(entry, Future) else entry


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _run(colorizer, batch: list[_Decoded]) -> list[tuple[int, torch.Tensor | str]]:
    """``(id(item), ab)`` for each item, ``(id(item), reason)`` where the network failed on it;
    if the whole batch fails (out of memory, say), photo by photo."""
    if not batch:
        return []
    try:
        ab = colorizer.run(torch.cat([item.x for item in batch]))
        return [(id(item), ab[i : i + 1]) for i, item in enumerate(batch)]
    except (RuntimeError, MemoryError):
        pass
    done: list[tuple[int, torch.Tensor | str]] = []
    for item in batch:
        try:
            done.append((id(item), colorizer.run(item.x)))
        except (RuntimeError, MemoryError) as exc:
            done.append((id(item), f"{item.src}: could not colour: {_first_line(exc)}"))
    return done
