"""colorkit: grayscale photographs of people into realistic colour.

The public API (:mod:`colorkit.api`) is loaded on first use, so ``import colorkit`` stays cheap::

    import colorkit

    run = colorkit.train("recipes/cunet_mse.toml")
    rgb = colorkit.colorize(colorkit.load_colorizer(run), gray)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["__version__", "colorize", "load_colorizer", "train"]
_API = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:
    from colorkit.api import colorize, load_colorizer, train


def __getattr__(name: str):
    if name in _API:
        from colorkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'colorkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API)
