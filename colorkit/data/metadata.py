"""What an image file says about itself besides its pixels: EXIF, ICC profile, DPI, orientation
and bit depth (:func:`read_metadata`, which reads the header only).

Only what describes the photo is carried to an output: a TIFF source's tags that describe how its
own pixels were stored (:data:`LAYOUT_TAGS`: size, depth, samples, photometric, compression, strips,
palette) are dropped, since they would contradict the output's own (a gray or CMYK TIFF's tags
written into an RGB TIFF made it unreadable), and an ICC profile is kept only when it describes RGB
(a gray or CMYK profile would misdescribe the output). The EXIF orientation tag is reset to 1, since
the pixels are stored upright once decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.errors import ImageError

SIXTEEN_BIT_FORMATS = {".png", ".tif", ".tiff"}
"""Formats that hold 16 bits per channel: such a file is probed for its depth, and an output in one
of them is written with 16 bits when the scan had 16."""


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
