"""Uploaded photos: decoded once, held in memory under random ids, coloured on request.

An upload is written to the server's temporary folder only while it is decoded (Pillow, tifffile and
OpenCV read files), then deleted; the photo lives on as arrays. Each upload gets its own random id,
so several tabs never see each other's photos; the last :data:`KEEP_PHOTOS` are kept. The page shows
a JPEG of the result (:func:`colour`); the download is what ``colorize`` writes for a PNG
(:func:`result_png`): the photo's own size, 16 bits where the scan had 16, its EXIF, ICC profile and
DPI (the encoders of :mod:`colorkit.data.encode`), joined from the network's ab kept in memory.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import torch
from PIL import Image

from colorkit.data.depth16 import join_l16, read_l16
from colorkit.data.encode import encode8, png16
from colorkit.data.images import is_image_name, open_image, printable
from colorkit.data.metadata import Metadata, read_metadata
from colorkit.errors import ColorkitError, ImageError
from colorkit.hints import Hint
from colorkit.hints.file import hints_document, parse_hints
from colorkit.inference.colorizer import Colorizer

KEEP_PHOTOS = 16
"""How many uploaded photos the server keeps (about 100 MB each for a 4000 x 3000 16-bit scan)."""


class PhotoGone(ColorkitError):
    """An id the server does not hold (never made, or an old photo dropped to make room)."""


def display_name(name: str) -> str:
    """The browser's file name as shown in messages and downloads: its last part, printable, short."""
    base = PurePath(printable(name).replace("\\", "/")).name.strip() or "photo"
    return "".join(c for c in base if c.isprintable())[:120] or "photo"


@dataclass
class Photo:
    """One uploaded photo: the browser's file ``name`` (for messages and downloads only), the decoded
    8-bit RGB, its metadata, and the full-precision L of a 16-bit scan (else None)."""

    name: str
    rgb: np.ndarray
    meta: Metadata
    l16: np.ndarray | None
    latest: tuple[Colorizer, torch.Tensor, list[Hint]] | None = None
    """Of the latest colouring: the model, its ab at the network's size and the hints (the downloads)."""

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def stem(self) -> str:
        return PurePath(self.name).stem or "photo"

    def describe(self, photo_id: str) -> dict:
        w, h = self.size
        return {"id": photo_id, "name": self.name, "width": w, "height": h, "bits": 16 if self.l16 is not None else 8}


class Photos:
    """The uploaded photos by id; ``folder`` is where an upload is decoded (a temporary folder)."""

    def __init__(self, folder: Path, keep: int = KEEP_PHOTOS):
        self.folder, self.keep = Path(folder), keep
        self._photos: OrderedDict[str, Photo] = OrderedDict()
        self._guard = threading.Lock()

    def add(self, data: bytes, name: str) -> tuple[str, Photo]:
        """Decode an upload; a file that cannot be coloured is an :class:`ImageError` naming ``name``."""
        name = display_name(name)
        photo_id = secrets.token_urlsafe(16)
        suffix = PurePath(name).suffix.lower() if is_image_name(name) else ""  # tells 16-bit readers the format
        path = self.folder / f"{photo_id}{suffix}"
        path.write_bytes(data)
        try:
            rgb = np.asarray(open_image(path))
            try:
                meta = read_metadata(path)
            except ImageError:
                meta = Metadata()
            l16 = read_l16(path, meta) if meta.bits == 16 else None
        except ImageError as exc:
            raise ImageError(name, exc.reason) from None
        finally:
            path.unlink(missing_ok=True)
        photo = Photo(name, rgb, meta, l16 if l16 is not None and l16.shape == rgb.shape[:2] else None)
        with self._guard:
            self._photos[photo_id] = photo
            while len(self._photos) > self.keep:
                self._photos.popitem(last=False)
        return photo_id, photo

    def get(self, photo_id: str) -> Photo:
        with self._guard:
            if photo_id not in self._photos:
                raise PhotoGone(f"this photo is no longer on the server (it keeps the last {self.keep}): drop it again")
            return self._photos[photo_id]


def gray_jpeg(photo: Photo) -> bytes:
    """The photo in gray at its own size, a JPEG for the page to show beside the colour."""
    return encode8(np.asarray(Image.fromarray(photo.rgb).convert("L")), Path("gray.jpg"))


def read_hints(photo: Photo, document: dict | None) -> list[Hint]:
    """The hints the browser sent (a hints document in the photo's pixels), checked like a hints file."""
    w, h = photo.size
    return [] if document is None else parse_hints(document, w, h, "browser")


def colour(photo: Photo, colorizer: Colorizer, hints: list[Hint], lock: threading.Lock) -> bytes:
    """The coloured photo to show, a JPEG at its own size (quick to encode: a 12-megapixel PNG takes
    seconds, see :func:`result_png`); the network and the join run under ``lock``."""
    with lock:
        ab = colorizer.predict_many([photo.rgb], [hints])  # a model without hint channels refuses non-empty hints
        rgb = colorizer.join(photo.rgb, ab)
    photo.latest = (colorizer, ab, list(hints))
    return encode8(rgb, Path("view.jpg"))


def latest(photo: Photo) -> tuple[Colorizer, torch.Tensor, list[Hint]]:
    if photo.latest is None:
        raise ColorkitError(f"{photo.name}: not coloured yet")
    return photo.latest


def result_png(photo: Photo, lock: threading.Lock) -> bytes:
    """The latest result as ``colorize`` writes it to PNG: the photo's own size, 16-bit for a 16-bit
    scan, its EXIF, ICC profile and DPI (joined again from the kept ab, under ``lock``)."""
    colorizer, ab, _ = latest(photo)
    with lock:
        rgb16 = join_l16(photo.l16, ab) if photo.l16 is not None else None
        rgb = colorizer.join(photo.rgb, ab) if rgb16 is None else None
    return png16(rgb16, photo.meta) if rgb16 is not None else encode8(rgb, Path("result.png"), photo.meta)


def hints_file(photo: Photo) -> dict:
    """The hints of the latest colouring as a document ``colorkit colorize --hints`` reads."""
    return hints_document(latest(photo)[2], *photo.size)
