"""The ``colorkit compare`` report's ``grid.png``: the gray input, each variant and the truth, photo by photo."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorkit.report.results import CompareResults

# grid.png geometry (pixels): every row is scaled so its height lies in [GRID_MIN_H, GRID_MAX_H].
GRID_PAD = 4
GRID_TITLE_H = 28
GRID_LABEL_H = 20
GRID_MIN_H = 128
GRID_MAX_H = 256


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the small bitmap font only
        return ImageFont.load_default()


def _as_image(a) -> Image.Image:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(a.astype(np.float64) * (255.0 if a.max(initial=0) <= 1.0 else 1.0) + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"grid image of shape {a.shape}: expected (H, W, 3)")
    return Image.fromarray(np.ascontiguousarray(a[..., :3]))


def _row_scale(h: int) -> float:
    if h < GRID_MIN_H:
        return float(math.ceil(GRID_MIN_H / h))  # whole-number upscale, nearest neighbour: pixels stay honest
    if h > GRID_MAX_H:
        return GRID_MAX_H / h
    return 1.0


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026"


def grid_png(results: CompareResults) -> bytes:
    """Rows = photos (name above each), columns = the grid's keys ("gray", each variant, "truth"), titled.

    Each row is scaled by one factor so its height lies in [GRID_MIN_H, GRID_MAX_H] (small images by a
    whole number, nearest neighbour); a column is as wide as its widest scaled image.
    """
    titles = list(results.grid)
    names = list(results.grid_names)
    for t in titles:
        if len(results.grid[t]) != len(names):
            raise ValueError(f"grid column '{t}' has {len(results.grid[t])} images for {len(names)} rows")
    if not titles or not names:
        img = Image.new("RGB", (320, 60), "white")
        ImageDraw.Draw(img).text((10, 20), "no photos to show", fill="#555555", font=_font(14))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()
    cells: list[list[Image.Image]] = []
    for r in range(len(names)):
        row = [_as_image(results.grid[t][r]) for t in titles]
        s = _row_scale(max(im.height for im in row))
        if s != 1.0:
            method = Image.Resampling.NEAREST if s > 1 else Image.Resampling.LANCZOS
            row = [im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), method) for im in row]
        cells.append(row)
    col_w = [max(cells[r][c].width for r in range(len(names))) for c in range(len(titles))]
    row_h = [max(im.height for im in row) for row in cells]
    width = GRID_PAD + sum(w + GRID_PAD for w in col_w)
    height = GRID_TITLE_H + sum(GRID_LABEL_H + h + GRID_PAD for h in row_h)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    title_font, label_font = _font(15), _font(12)
    x = GRID_PAD
    for t, w in zip(titles, col_w):
        text = _fit(draw, t, title_font, w)
        draw.text((x + w / 2, GRID_TITLE_H / 2 + 1), text, fill="#111111", font=title_font, anchor="mm")
        x += w + GRID_PAD
    y = GRID_TITLE_H
    for name, row, h in zip(names, cells, row_h):
        draw.text((GRID_PAD, y + GRID_LABEL_H / 2), _fit(draw, name, label_font, width - 2 * GRID_PAD), fill="#666666", font=label_font, anchor="lm")
        y += GRID_LABEL_H
        x = GRID_PAD
        for im, w in zip(row, col_w):
            canvas.paste(im, (x + (w - im.width) // 2, y + (h - im.height) // 2))
            x += w + GRID_PAD
        y += h + GRID_PAD
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
