"""Finding and decoding image files. Every failure names the file and the reason."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorkit.errors import ImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass
class FoundImages:
    """Image files under a folder, and what could not be searched."""

    files: list[Path] = field(default_factory=list)
    problems: list[ImageError] = field(default_factory=list)


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def find_images(root: str | Path) -> FoundImages:
    """All images under ``root`` (recursive, sorted); unreadable folders are listed, not skipped silently."""
    root = Path(root)
    found = FoundImages()
    if root.is_file():
        found.files.append(root)
        return found
    if not root.is_dir():
        raise ImageError(root, "no such file or folder")

    def on_error(exc: OSError) -> None:
        found.problems.append(ImageError(exc.filename or root, f"cannot list folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if is_image_name(name):
                found.files.append(Path(dirpath) / name)
    return found


def read_split(root: str | Path, split_file: str | Path) -> tuple[list[Path], list[str]]:
    """Files named in ``split_file`` (one name a line, relative to ``root``) and the names that are missing."""
    root, split_file = Path(root), Path(split_file)
    try:
        lines = split_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImageError(split_file, f"cannot read split list: {exc.strerror or exc}") from None
    names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    files = [root / n for n in names]
    missing = [n for n, f in zip(names, files) if not f.is_file()]
    return [f for f in files if f.is_file()], missing


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert("RGB")


def open_image(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB PIL image with EXIF orientation applied.

    ``draft_size`` lets JPEG decoding scale down by powers of two while staying at least that large,
    which makes big photos much cheaper when only a small version is needed.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "empty file (0 bytes)")
        with Image.open(path) as img:
            if draft_size and img.format == "JPEG":
                img.draft("RGB", (draft_size, draft_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(path, f"refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image, or a format Pillow cannot read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImageError(path, f"cannot decode: {reason}") from None


def load_rgb(path: str | Path) -> np.ndarray:
    """``path`` as an ``(H, W, 3)`` uint8 RGB array."""
    return np.asarray(open_image(path))


def resize_rgb(img: Image.Image, size: int) -> np.ndarray:
    """Resize to ``size x size`` (bicubic, anti-aliased) as an ``(size, size, 3)`` uint8 array."""
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img)
