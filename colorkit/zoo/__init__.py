"""Pretrained models: cards, weights sources, and the models that ship with colorkit.

The built-in models register through ``colorkit_register_pretrained`` like a plugin's: each has a
card ``models/NAME.toml`` and its weights ``models/NAME.safetensors`` inside this package.
"""

from __future__ import annotations

from pathlib import Path

from colorkit.hookspecs import hookimpl
from colorkit.zoo.card import ModelCard, read_card

__all__ = ["DEFAULT_HINT_MODEL", "DEFAULT_MODEL", "ModelCard", "read_card"]

DEFAULT_MODEL = "faces-scenes"
"""The model ``colorkit colorize`` uses when none is named."""

DEFAULT_HINT_MODEL = "faces-scenes-hints"
"""The model ``colorkit serve`` starts with when none is named: it colours as ``DEFAULT_MODEL`` does
and takes the hints clicked on the page."""

CARDS = Path(__file__).parent / "models"


@hookimpl
def colorkit_register_pretrained(register):
    for path in sorted(CARDS.glob("*.toml")):
        card = read_card(path)
        register(card.name, card)
