"""Old photos and archive-ready output: 16-bit depth kept, metadata copied (the tone of a scan:
:mod:`colorkit.data.tone`).

- **16-bit.** A 16-bit scan (PIL ``I;16`` gray, or a 16-bit TIFF or PNG read with tifffile or OpenCV)
  keeps its full-precision L: the predicted ab is joined with it in float and written as 16-bit RGB
  where the output format holds it (PNG, TIFF); JPEG and WebP get 8 bits.
- **Metadata.** EXIF (with the orientation tag reset, since the pixels are stored upright), the ICC
  profile and the DPI are copied to the output: through Pillow for 8-bit files; 16-bit PNG is written
  here with its ``iCCP``, ``pHYs`` and ``eXIf`` chunks; 16-bit TIFF (tifffile) gets the ICC profile,
  the resolution and the EXIF tags that TIFF's first IFD holds (description, make, model, software,
  date, artist, copyright), not the EXIF sub-IFD. Only what describes the photo is carried: a TIFF
  source's tags that describe how its own pixels were stored (:data:`LAYOUT_TAGS`: size, depth,
  samples, photometric, compression, strips, palette) are dropped, since they would contradict the
  output's own (a gray or CMYK TIFF's tags written into an RGB TIFF made it unreadable), and an ICC
  profile is kept only when it describes RGB (a gray or CMYK profile would misdescribe the output).
- **Read back.** :func:`reads_back` opens each written file with Pillow and decodes it (a JPEG at
  1/8 scale) before it replaces the target: a file that does not read back at its size is not kept.
- **Before/after.** :func:`before_after` puts the input and the result side by side.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.images import _pillow_bomb_check_off
from colorkit.errors import ImageError

SIXTEEN_BIT_FORMATS = {".png", ".tif", ".tiff"}
"""Output formats that are written with 16 bits per channel when the scan had 16."""


# ------------------------------------------------------------------------------------------ reading


LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289, 290,
    291, 292, 293, 317, 320, 321, 322, 323, 324, 325, 330, 332, 333, 334, 336, 338, 339, 340, 341, 347,
    512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 531, 532, 34675,
})
"""TIFF tags about how a file stores its pixels (subfile type, width, length, bits per sample,
compression, photometric interpretation, fill order, strip and tile offsets and counts, samples per
pixel, planar configuration, predictor, colour map, extra samples, sample format, ink set, JPEG and
YCbCr layout), never carried to another file; and the ICC profile (34675), carried on its own."""


@dataclass
class Metadata:
    """What is copied to the output: EXIF bytes (orientation reset to 1), ICC profile, DPI."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    orientation: int = 1
    mode: str = ""
    bits: int = 8

    def exif_tags(self) -> dict[int, object]:
        if not self.exif:
            return {}
        exif = Image.Exif()
        exif.load(self.exif)
        return dict(exif)


def read_metadata(path: str | Path) -> Metadata:
    """EXIF, ICC profile, DPI, orientation and bit depth of an image file (reads the header only)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            orientation = int(exif.get(0x0112, 1) or 1)
            icc = img.info.get("icc_profile") or None
            meta = Metadata(icc_profile=icc if _is_rgb_profile(icc) else None, orientation=orientation, mode=img.mode)
            dpi = img.info.get("dpi")
            if dpi and all(float(d) > 0 for d in dpi):
                meta.dpi = (float(dpi[0]), float(dpi[1]))
            for tag in LAYOUT_TAGS & set(exif):
                del exif[tag]
            if len(exif):
                if 0x0112 in exif:
                    exif[0x0112] = 1
                meta.exif = exif.tobytes()
            meta.bits = 16 if img.mode.startswith("I;16") or (img.mode == "I" and _is_16bit_png(img)) else 8
            if meta.bits == 8 and path.suffix.lower() in SIXTEEN_BIT_FORMATS and img.mode in ("RGB", "RGBA"):
                meta.bits = _file_bits(path)
    except Exception as exc:  # noqa: BLE001 - the pixels were readable; metadata is best effort
        raise ImageError(path, f"cannot read metadata: {exc}") from None
    return meta


def _is_rgb_profile(icc: bytes | None) -> bool:
    """Whether an ICC profile describes RGB data (its colour-space field): a gray or CMYK source's
    profile would misdescribe the RGB output, so it is not carried."""
    return bool(icc) and len(icc) >= 20 and icc[16:20] == b"RGB "


def _is_16bit_png(img: Image.Image) -> bool:
    """Older Pillow opens 16-bit gray PNG as mode ``I``."""
    return img.format == "PNG"


def _file_bits(path: Path) -> int:
    """16 for 16-bit RGB PNG and TIFF files (which Pillow reads as 8-bit RGB), else 8."""
    try:
        with open(path, "rb") as fp:
            head = fp.read(26)
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return 16 if head[24] == 16 else 8
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                return 16 if tif.pages[0].dtype == np.uint16 else 8
    except Exception:  # noqa: BLE001
        return 8
    return 8


_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.swapaxes(a, 0, 1)[::-1],
}


def read_l16(path: str | Path, meta: Metadata | None = None) -> np.ndarray | None:
    """The full-precision L (0..100, float32, upright) of a 16-bit scan, or ``None`` for an 8-bit one.

    16-bit gray through Pillow; 16-bit RGB TIFF through tifffile, 16-bit RGB PNG through OpenCV
    (where ``opencv-python-headless`` is installed; without it such a PNG counts as 8-bit).
    """
    from colorkit.data.lab import rgb_to_lab

    path = Path(path)
    meta = meta or read_metadata(path)
    if meta.bits != 16:
        return None
    rgb = None
    if meta.mode.startswith("I"):
        with Image.open(path) as img:
            gray = np.asarray(img, dtype=np.float32) / 65535.0
        rgb = np.repeat(gray[..., None], 3, axis=2)
    elif path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        arr = tifffile.imread(path)
        if arr.ndim == 3 and arr.shape[-1] >= 3 and arr.dtype == np.uint16:
            rgb = arr[..., :3].astype(np.float32) / 65535.0
    else:
        try:
            import cv2
        except ImportError:
            return None
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.ndim == 3 and arr.dtype == np.uint16:
            rgb = arr[..., 2::-1].astype(np.float32) / 65535.0 if arr.shape[-1] == 3 else arr[..., [2, 1, 0]].astype(np.float32) / 65535.0
    if rgb is None:
        return None
    if meta.orientation in _ORIENT:
        rgb = _ORIENT[meta.orientation](rgb)
    import torch

    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0, 0].numpy()


def join_l16(L: np.ndarray, ab, device=None) -> np.ndarray:
    """Full-resolution float ``L`` joined with ``ab`` (``(1, 2, h, w)`` tensor, upsampled bilinearly)
    as ``(H, W, 3)`` uint16 RGB."""
    import torch
    import torch.nn.functional as F

    from colorkit.data.lab import lab_to_rgb

    Lt = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32))[None, None].to(ab.device)
    ab = ab.float()
    if ab.shape[-2:] != Lt.shape[-2:]:
        ab = F.interpolate(ab, size=Lt.shape[-2:], mode="bilinear", align_corners=False)
    rgb = lab_to_rgb(torch.cat([Lt, ab], 1))[0].permute(1, 2, 0).clamp(0, 1)
    return (rgb * 65535 + 0.5).to(torch.int32).cpu().numpy().astype(np.uint16)


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

