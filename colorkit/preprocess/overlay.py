"""A colour overlay of preprocessor channels on the gray photo, for checking masks by eye."""

from __future__ import annotations

import numpy as np

PALETTE = {
    "skin": (255, 190, 140),
    "face": (255, 190, 140),
    "brows": (150, 75, 0),
    "eyes": (0, 170, 255),
    "lips": (230, 0, 60),
    "nose": (255, 230, 0),
    "hair": (140, 0, 200),
    "background": (60, 60, 60),
}
"""Colours of the face-part channels; other channel names get colours from :data:`EXTRA`."""

EXTRA = ((0, 200, 120), (255, 120, 0), (0, 90, 255), (200, 200, 200), (255, 0, 200), (120, 255, 0))


def colours(channels: list[str]) -> list[tuple[int, int, int]]:
    """One RGB colour per channel name."""
    other = iter(EXTRA * (1 + len(channels) // len(EXTRA)))
    return [PALETTE.get(name) or next(other) for name in channels]


def overlay(gray: np.ndarray, channels: np.ndarray, names: list[str], alpha: float = 0.6) -> np.ndarray:
    """``(H, W)`` uint8 gray and ``(C, H, W)`` channels in [0, 1] -> ``(H, W, 3)`` uint8: each pixel
    tinted by the channels that cover it (weighted by coverage, ``alpha`` at full coverage)."""
    base = np.repeat(np.asarray(gray, np.float32)[..., None], 3, axis=2)
    ch = np.asarray(channels, np.float32)
    tint = np.tensordot(ch.transpose(1, 2, 0), np.asarray(colours(names), np.float32), axes=1)  # (H, W, 3)
    cover = ch.sum(0)[..., None]
    mixed = np.where(cover > 0, tint / np.maximum(cover, 1e-6), base)
    a = alpha * np.clip(cover, 0, 1)
    return np.clip(base * (1 - a) + mixed * a + 0.5, 0, 255).astype(np.uint8)


def legend(names: list[str]) -> str:
    """``name=#rrggbb`` for each channel, as the CLI prints it."""
    return ", ".join(f"{n}=#{r:02x}{g:02x}{b:02x}" for n, (r, g, b) in zip(names, colours(names)))
