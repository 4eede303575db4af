"""Old photos and archive-ready output: 16-bit depth kept, metadata copied (the tone of a scan:
:mod:`colorkit.data.tone`).

- **16-bit.** A 16-bit scan (PIL ``I;16`` gray, or a 16-bit TIFF or PNG read with tifffile or OpenCV)
  keeps its full-precision L (:mod:`colorkit.data.depth16`): the predicted ab is joined with it in
  float and written as 16-bit RGB where the output format holds it (PNG, TIFF); JPEG and WebP get 8 bits.
- **Metadata.** EXIF (with the orientation tag reset, since the pixels are stored upright), the ICC
  profile and the DPI (:mod:`colorkit.data.metadata`, which says what is carried and what is dropped)
  are copied to the output: through Pillow for 8-bit files; 16-bit PNG is written here with its
  ``iCCP``, ``pHYs`` and ``eXIf`` chunks; 16-bit TIFF (tifffile) gets the ICC profile, the resolution
  and the EXIF tags that TIFF's first IFD holds (description, make, model, software, date, artist,
  copyright), not the EXIF sub-IFD.
- **Read back.** :func:`reads_back` opens each written file with Pillow and decodes it (a JPEG at
  1/8 scale) before it replaces the target: a file that does not read back at its size is not kept.
- **Before/after.** :func:`before_after` puts the input and the result side by side.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.depth16 import join_l16, read_l16
from colorkit.data.images import _pillow_bomb_check_off
from colorkit.data.metadata import SIXTEEN_BIT_FORMATS, Metadata, read_metadata
from colorkit.errors import ImageError


# ------------------------------------------------------------------------------------------ writing


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


def before_after_path(dst: str | Path) -> Path:
    """``NAME_before_after.EXT`` beside ``dst``."""
    dst = Path(dst)
    return dst.with_name(f"{dst.stem}_before_after{dst.suffix}")


def before_after(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """The input and the result side by side with a white gap (8-bit RGB)."""
    h = before.shape[0]
    return np.concatenate([np.asarray(before, np.uint8), np.full((h, gap, 3), 255, np.uint8), np.asarray(after, np.uint8)], axis=1)


def outputs(src: str | Path, photo: np.ndarray, coloured: np.ndarray, dst: str | Path, colorizer=None, *,
            side_by_side: bool = False) -> list[tuple[Path, bytes, tuple[int, int]]]:
    """The files to write for one coloured photo, each with its size (width, height): ``dst`` (16-bit
    when the scan and format allow, with the source's metadata) and, with ``side_by_side``,
    ``NAME_before_after.EXT``.

    ``photo`` is the decoded 8-bit input, ``coloured`` the 8-bit result; a 16-bit scan is joined again
    at full precision with the same ab (predicted once more from ``photo`` by ``colorizer``).
    """
    src, dst = Path(src), Path(dst)
    try:
        meta = read_metadata(src)
    except ImageError:
        meta = Metadata()
    data = None
    if meta.bits == 16 and colorizer is not None and dst.suffix.lower() in SIXTEEN_BIT_FORMATS:
        L = read_l16(src, meta)
        if L is not None and L.shape == photo.shape[:2]:
            rgb16 = join_l16(L, colorizer.predict_many([photo]))
            data = png16(rgb16, meta) if dst.suffix.lower() == ".png" else tiff16(rgb16, meta)
    if data is None:
        data = encode8(coloured, dst, meta)
    h, w = coloured.shape[:2]
    files = [(dst, data, (w, h))]
    if side_by_side:
        pair = before_after(photo, coloured)
        files.append((before_after_path(dst), encode8(pair, dst, Metadata(icc_profile=meta.icc_profile, dpi=meta.dpi)), (pair.shape[1], h)))
    return files

