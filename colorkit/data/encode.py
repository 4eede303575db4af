"""Photos into file bytes, each with the source's metadata (:mod:`colorkit.data.metadata`): 8-bit RGB
in any format Pillow writes (:func:`encode8`), 16-bit RGB PNG (:func:`png16`) and TIFF
(:func:`tiff16`); and :func:`reads_back`, the check every written image passes before it replaces
its target.

- **8-bit** files go through Pillow with their EXIF, ICC profile and DPI where the format holds them.
- **16-bit PNG** is written here, with its ``iCCP``, ``pHYs`` and ``eXIf`` chunks: Pillow cannot
  write 16-bit RGB, and no library that writes it also writes those three chunks (pypng writes
  ``pHYs`` only, OpenCV and imagecodecs none), so a library would still need the chunks spliced in by
  hand (docs/dependencies.md).
- **16-bit TIFF** goes through tifffile: the ICC profile, the resolution and the EXIF tags that TIFF's
  first IFD holds (description, make, model, software, date, artist, copyright), not the EXIF sub-IFD.
- **Read back.** :func:`reads_back` opens each written file with Pillow and decodes it (a JPEG at
  1/8 scale) before it replaces the target: a file that does not read back at its size is not kept.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.images import _pillow_bomb_check_off
from colorkit.data.metadata import Metadata


def png16(rgb16: np.ndarray, meta: Metadata | None = None) -> bytes:
    """A 16-bit RGB PNG with ``iCCP`` (ICC profile), ``pHYs`` (DPI) and ``eXIf`` (EXIF) chunks
    (Pillow cannot write 16-bit RGB)."""
    meta = meta or Metadata()
    h, w, _ = rgb16.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = np.zeros((h, 1 + w * 6), np.uint8)
    raw[:, 1:] = np.ascontiguousarray(rgb16, dtype=">u2").view(np.uint8).reshape(h, w * 6)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))]
    if meta.icc_profile:
        parts.append(chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(meta.icc_profile)))
    if meta.dpi:
        parts.append(chunk(b"pHYs", struct.pack(">IIB", round(meta.dpi[0] / 0.0254), round(meta.dpi[1] / 0.0254), 1)))
    if meta.exif:
        exif = meta.exif[6:] if meta.exif.startswith(b"Exif\x00\x00") else meta.exif
        parts.append(chunk(b"eXIf", exif))
    parts += [chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)), chunk(b"IEND", b"")]
    return b"".join(parts)


_TIFF_IFD0_EXIF = {271: "Make", 272: "Model", 315: "Artist", 33432: "Copyright"}


def tiff16(rgb16: np.ndarray, meta: Metadata | None = None) -> bytes:
    """A 16-bit RGB TIFF (zlib) with the ICC profile, the resolution and the first-IFD EXIF tags."""
    import tifffile

    meta = meta or Metadata()
    tags = meta.exif_tags()
    extratags = [(code, "s", 0, str(tags[code]), True) for code in _TIFF_IFD0_EXIF if isinstance(tags.get(code), str)]
    buf = io.BytesIO()
    tifffile.imwrite(
        buf, rgb16, photometric="rgb", compression="zlib", iccprofile=meta.icc_profile,
        resolution=meta.dpi, resolutionunit="INCH" if meta.dpi else None,
        description=tags.get(270) if isinstance(tags.get(270), str) else None,
        software=tags.get(305) if isinstance(tags.get(305), str) else None,
        datetime=tags.get(306) if isinstance(tags.get(306), str) else None,
        metadata=None, extratags=extratags,
    )
    return buf.getvalue()


def encode8(rgb: np.ndarray, dst: str | Path, meta: Metadata | None = None) -> bytes:
    """8-bit RGB in ``dst``'s format (by extension; PNG when unknown) with EXIF, ICC profile and DPI."""
    meta = meta or Metadata()
    fmt = Image.registered_extensions().get(Path(dst).suffix.lower(), "PNG")
    options: dict = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    if meta.icc_profile and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["icc_profile"] = meta.icc_profile
    if meta.exif and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["exif"] = meta.exif
    if meta.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        options["dpi"] = meta.dpi
    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format=fmt, **options)
    return buf.getvalue()


def reads_back(size: tuple[int, int]):
    """A ``check`` for :func:`colorkit.files.atomic_write_bytes`: the written image must open
    with Pillow at ``size`` (width, height) and decode (a JPEG at 1/8 scale, which still reads every
    block); else ``ValueError`` with the reason, and the file is not kept."""

    def check(path: Path) -> None:
        try:
            with _pillow_bomb_check_off(), Image.open(path) as img:
                if img.size != tuple(size):
                    raise ValueError(f"{img.width} x {img.height} pixels instead of {size[0]} x {size[1]}")
                if img.format == "JPEG":
                    img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
                img.load()
        except Exception as exc:  # noqa: BLE001 - whatever Pillow says, the file is not readable
            raise ValueError(f"the written file does not read back ({str(exc) or type(exc).__name__}); it was not kept") from None

    return check
