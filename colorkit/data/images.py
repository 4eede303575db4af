"""Finding and decoding image files. Every failure names the file and the reason."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorkit.errors import ColorkitError, ImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi"})


@dataclass
class FoundImages:
    """Image files under a folder, and what could not be searched."""

    files: list[Path] = field(default_factory=list)
    problems: list[ImageError] = field(default_factory=list)


def printable(text: str) -> str:
    """``text`` safe to print: bytes of a file name that are not UTF-8 (kept by Python as surrogates)
    are shown as ``\\xNN`` escapes, as ``ls -b`` would."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def find_images(root: str | Path) -> FoundImages:
    """All images under ``root`` (recursive, sorted).

    Symbolic links to folders are followed, but a folder already visited (a symlink loop, or two
    links to one folder) is listed as a problem instead of being searched again. Folders that
    cannot be listed are problems too: reported, never skipped silently.
    """
    root = Path(root)
    found = FoundImages()
    if root.is_file():
        found.files.append(root)
        return found
    if not root.is_dir():
        raise ImageError(root, "no such file or folder")

    def on_error(exc: OSError) -> None:
        found.problems.append(ImageError(exc.filename or root, f"cannot list folder: {exc.strerror or exc}"))

    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError as exc:
            on_error(exc)
            dirnames.clear()
            continue
        if (st.st_dev, st.st_ino) in seen:
            found.problems.append(ImageError(dirpath, "skipped: this folder was already searched under another path (a symlink loop, or a second link to it)"))
            dirnames.clear()
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            if is_image_name(name):
                found.files.append(Path(dirpath) / name)
    return found


def split_names(split_file: str | Path) -> list[str]:
    """The names a split file lists: one a line, blank lines and ``#`` comments left out."""
    split_file = Path(split_file)
    try:
        lines = split_file.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as exc:
        raise ImageError(split_file, f"cannot read split list: {exc.strerror or exc}") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def read_split(root: str | Path, split_file: str | Path) -> tuple[list[Path], list[str]]:
    """Files named in ``split_file`` (one name a line, relative to ``root``) and the names that are missing.

    A name must stay inside ``root``: an absolute name or one with a ``..`` part is refused (exit 2).
    Bytes that are not UTF-8 name the same bytes on disk.
    """
    root, split_file = Path(root), Path(split_file)
    names = split_names(split_file)
    for name in names:
        if PurePath(name).is_absolute() or ".." in PurePath(name).parts:
            raise ColorkitError(f"{split_file}: {name!r}: names must be relative to {root} and stay inside it (no absolute path, no '..')")
    files = [root / n for n in names]
    missing = [n for n, f in zip(names, files) if not f.is_file()]
    return [f for f in files if f.is_file()], missing


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited on white.

    16-bit modes (``I;16*``) are scaled from 0..65535; 32-bit ``I`` from 0..65535 when any value
    exceeds 255, else taken as 8-bit values; float ``F`` from [0, 1] when its maximum is at most 1,
    else clipped to 0..255. CMYK and YCbCr use Pillow's conversion (ICC profiles are ignored).
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            top = 1.0 if arr.size and np.nanmax(arr) <= 1.0 else 255.0
        elif img.mode == "I":
            top = 65535.0 if arr.size and arr.max() > 255 else 255.0
        else:
            top = 65535.0
        arr = np.nan_to_num(arr / top * 255.0 + 0.5, nan=0.0)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert("RGB")


MAX_PIXELS_ENV = "COLORKIT_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's own threshold (about 9459 x 9459): larger images are refused as possible decompression bombs."""

_max_pixels: int | None = None


def set_max_pixels(limit: int | None) -> None:
    """Set the pixel limit for this process (``None``: back to ``COLORKIT_MAX_PIXELS`` or the default)."""
    global _max_pixels
    if limit is not None and limit < 1:
        raise ColorkitError(f"the pixel limit must be a positive number of pixels, got {limit}")
    _max_pixels = limit


def max_pixels() -> int:
    """The largest image (width x height) that is decoded: :func:`set_max_pixels`, else the env var, else the default."""
    if _max_pixels is not None:
        return _max_pixels
    value = os.environ.get(MAX_PIXELS_ENV, "").replace("_", "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    if not value.isdigit() or int(value) < 1:
        raise ColorkitError(f"{MAX_PIXELS_ENV}={os.environ[MAX_PIXELS_ENV]!r}: expected a positive number of pixels, e.g. 200000000")
    return int(value)


@contextmanager
def _pillow_bomb_check_off():
    """colorkit checks the pixel count itself (one limit, no warning band); Pillow's check is off meanwhile."""
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def open_image(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB PIL image with EXIF orientation applied.

    Every failure is an :class:`ImageError` naming the file and the reason: "cannot read" (the file
    system refused), "empty file", "not an image", "too large" (over :func:`max_pixels`) or "cannot
    decode" (a truncated or corrupt file). Nothing else escapes, whatever the bytes.

    ``draft_size`` lets JPEG decoding scale down by powers of two while staying at least that large,
    which makes big photos much cheaper when only a small version is needed.
    """
    path = Path(path)
    limit = max_pixels()
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImageError(path, "is a folder, not an image file")
        fp = open(path, "rb")
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        fp.close()
        raise ImageError(path, "empty file (0 bytes)")
    try:
        with fp, _pillow_bomb_check_off(), Image.open(fp) as img:
            w, h = img.size
            if w * h > limit:
                raise ImageError(
                    path,
                    f"too large: {w} x {h} = {w * h:,} pixels is over the limit of {limit:,} (a guard against "
                    f"decompression bombs); if the file is trusted, raise it with --max-pixels N (colorize, evaluate) "
                    f"or the environment variable {MAX_PIXELS_ENV}=N (any command)",
                )
            if draft_size and img.format == "JPEG":
                img.draft("RGB", (draft_size, draft_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.width < 1 or img.height < 1:
                raise ImageError(path, f"cannot decode: the image has no pixels ({img.width} x {img.height})")
            return _to_rgb(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, "not an image (unknown format, or a damaged header)") from None
    except MemoryError:
        raise ImageError(path, "cannot decode: out of memory") from None
    except Exception as exc:  # Pillow's decoders raise many types on bad bytes; all mean "cannot decode"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise ImageError(path, f"cannot decode: {reason}") from None


def load_rgb(path: str | Path) -> np.ndarray:
    """``path`` as an ``(H, W, 3)`` uint8 RGB array."""
    return np.asarray(open_image(path))


def resize_rgb(img: Image.Image, size: int) -> np.ndarray:
    """Resize to ``size x size`` (bicubic, anti-aliased) as an ``(size, size, 3)`` uint8 array."""
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img)
