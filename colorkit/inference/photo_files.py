"""The files ``colorize`` writes for one coloured photo (:func:`outputs`): archive-ready, as old photos
need them.

- **16-bit.** A 16-bit scan (PIL ``I;16`` gray, or a 16-bit TIFF or PNG read with tifffile or OpenCV)
  keeps its full-precision L (:mod:`colorkit.data.depth16`): the predicted ab is joined with it in
  float and written as 16-bit RGB where the output format holds it (PNG, TIFF); JPEG and WebP get 8 bits.
- **Metadata.** EXIF (with the orientation tag reset, since the pixels are stored upright), the ICC
  profile and the DPI (:mod:`colorkit.data.metadata`, which says what is carried and what is dropped)
  are copied to the output by the encoders of :mod:`colorkit.data.encode`.
- **Before/after.** :func:`before_after` puts the input and the result side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorkit.data.depth16 import join_l16, read_l16
from colorkit.data.encode import encode8, png16, tiff16
from colorkit.data.metadata import SIXTEEN_BIT_FORMATS, Metadata, read_metadata
from colorkit.errors import ImageError
from colorkit.hints import Hint


def before_after_path(dst: str | Path) -> Path:
    """``NAME_before_after.EXT`` beside ``dst``."""
    dst = Path(dst)
    return dst.with_name(f"{dst.stem}_before_after{dst.suffix}")


def before_after(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """The input and the result side by side with a white gap (8-bit RGB)."""
    h = before.shape[0]
    return np.concatenate([np.asarray(before, np.uint8), np.full((h, gap, 3), 255, np.uint8), np.asarray(after, np.uint8)], axis=1)


def outputs(src: str | Path, photo: np.ndarray, coloured: np.ndarray, dst: str | Path, colorizer=None, *,
            side_by_side: bool = False, hints: list[Hint] | None = None) -> list[tuple[Path, bytes, tuple[int, int]]]:
    """The files to write for one coloured photo, each with its size (width, height): ``dst`` (16-bit
    when the scan and format allow, with the source's metadata) and, with ``side_by_side``,
    ``NAME_before_after.EXT``.

    ``photo`` is the decoded 8-bit input, ``coloured`` the 8-bit result; a 16-bit scan is joined again
    at full precision with the same ab (predicted once more from ``photo`` and its ``hints`` by ``colorizer``).
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
            rgb16 = join_l16(L, colorizer.predict_many([photo], [hints]))
            data = png16(rgb16, meta) if dst.suffix.lower() == ".png" else tiff16(rgb16, meta)
    if data is None:
        data = encode8(coloured, dst, meta)
    h, w = coloured.shape[:2]
    files = [(dst, data, (w, h))]
    if side_by_side:
        pair = before_after(photo, coloured)
        files.append((before_after_path(dst), encode8(pair, dst, Metadata(icc_profile=meta.icc_profile, dpi=meta.dpi)), (pair.shape[1], h)))
    return files

