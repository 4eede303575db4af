"""``colorkit serve``: a local web page that colours photos (an optional extra, ``colorkit[web]``).

- :mod:`colorkit.serve.models`: the models a page may pick, by name (the browser never sends a
  path), loaded once each and run one batch at a time;
- :mod:`colorkit.serve.photos`: uploaded photos, held in memory under random ids, and their
  coloured PNG and hints file;
- :mod:`colorkit.serve.app`: the FastAPI app (the only module that imports the web extra) and its
  page, ``static/`` (hand-written HTML, JS and CSS shipped as package data: no CDN, no build step).
"""

from __future__ import annotations

import importlib.util

from colorkit.errors import ColorkitError

INSTALL_HINT = 'pip install "colorkit[web]"'


class MissingWebExtra(ColorkitError):
    """FastAPI or uvicorn is not installed."""


def require() -> None:
    """Raise one clear line when the ``web`` extra (FastAPI, uvicorn) is missing."""
    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingWebExtra(f"colorkit serve needs {' and '.join(missing)}: {INSTALL_HINT}")
