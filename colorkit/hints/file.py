"""The hints file: a user's colour hints for one photo, JSON or TOML (by suffix).

The schema is documented in ``docs/hints.md``; :func:`parse_hints` is its one implementation (the
web page calls it on the document the browser sends, with ``source="browser"``). A document::

    {"units": "px", "hints": [{"x": 120, "y": 80, "color": "#1f3a93", "radius": 4}]}

``units`` is ``"px"`` (default: pixels of the photo as stored, 0..width-1; ``radius`` in pixels) or
``"fraction"`` (x and y as fractions of the width and height, ``radius`` as a fraction of the shorter
side). Each hint has exactly one of ``color`` (``"#rrggbb"`` or ``[r, g, b]`` in 0..255; only its ab
is used, the photo keeps its own L) and ``ab`` (LAB units in [-110, 110]); optionally ``radius``
(default 0: one network pixel) and, in a video's file only, ``frame``. Every problem is one
:class:`~colorkit.errors.ColorkitError` line naming the source, the hint (``hints[i]``, counted from 0)
and why.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from colorkit.data.lab import AB_SCALE, rgb_to_lab_np
from colorkit.errors import ColorkitError
from colorkit.hints import Hint

HINTS_SUFFIXES = (".hints.json", ".hints.toml")
"""How a hints file's name ends; ``NAME.hints.json`` beside ``NAME.jpg`` holds that photo's hints."""

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _HintEntry(_Part):
    x: float
    y: float
    color: str | list | None = None
    ab: list | None = None
    radius: float = Field(0.0, ge=0)
    frame: int | None = Field(None, ge=0)

    @field_validator("color", mode="before")
    @classmethod
    def _color(cls, value):
        if isinstance(value, list):
            if len(value) != 3 or not all(type(v) is int and 0 <= v <= 255 for v in value):
                raise ValueError(f"{value!r} is not a colour: [r, g, b] takes three whole numbers in 0..255")
        elif value is not None and not (isinstance(value, str) and _HEX.fullmatch(value)):
            raise ValueError(f"{value!r} is not a colour: write '#rrggbb' (six hex digits) or [r, g, b] in 0..255")
        return value

    @field_validator("ab", mode="before")
    @classmethod
    def _ab(cls, value):
        if value is not None and not (isinstance(value, list) and len(value) == 2 and all(type(v) in (int, float) and abs(v) <= AB_SCALE for v in value)):
            raise ValueError(f"{value!r}: ab takes two numbers [a, b] in [-{AB_SCALE:g}, {AB_SCALE:g}] (LAB units)")
        return value

    @model_validator(mode="after")
    def _one_colour(self):
        if (self.color is None) == (self.ab is None):
            raise ValueError("give exactly one of 'color' and 'ab'" + (" (it has both)" if self.color is not None else " (it has neither)"))
        return self


class _HintsDocument(_Part):
    units: Literal["px", "fraction"] = "px"
    hints: list[_HintEntry]


def _where(loc: tuple) -> str:
    """``hints[2] key 'color'`` for pydantic's location ``('hints', 2, 'color')``."""
    if len(loc) >= 2 and loc[0] == "hints" and isinstance(loc[1], int):
        return f"hints[{loc[1]}]" + (f" key '{loc[2]}'" if len(loc) > 2 else "")
    return f"key '{'.'.join(str(p) for p in loc)}'" if loc else "the document"


def _problem(exc: ValidationError) -> str:
    errors = exc.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key explains a missing one
    loc, msg, kind = tuple(first["loc"]), first["msg"], first["type"]
    if kind == "extra_forbidden":
        valid = ", ".join(_HintEntry.model_fields) if len(loc) > 2 else ", ".join(_HintsDocument.model_fields)
        return (f"{_where(loc[:-1])}: " if len(loc) > 1 else "") + f"unknown key '{loc[-1]}' (valid: {valid})"
    if kind == "missing":
        return f"{_where(loc)}: missing" + (" (a list of points)" if loc == ("hints",) else "")
    if kind == "model_type":
        return f"{_where(loc)}: should be a table of x, y and a colour, not {first['input']!r}"
    msg = msg.removeprefix("Value error, ")
    if kind in ("float_type", "int_type", "string_type", "list_type", "dict_type", "literal_error"):
        msg += f", not {first['input']!r}"
    return f"{_where(loc)}: {msg}"


def _ab_of_color(color: str | list) -> tuple[float, float]:
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)] if isinstance(color, str) else color
    lab = rgb_to_lab_np(np.asarray(rgb, np.uint8).reshape(1, 1, 3))[0, 0]
    return float(lab[1]), float(lab[2])


def parse_hints(document: dict, width: int, height: int, source: str, *, allow_frame: bool = False) -> list[Hint]:
    """The hints of a hints document for a photo of ``width`` x ``height`` pixels (as stored).

    ``source`` names where the document came from (a file, or ``"browser"``) in every error;
    ``frame`` is only allowed with ``allow_frame`` (a video's hints file)."""
    if not isinstance(document, dict):
        raise ColorkitError(f"{source}: a hints document is a table with 'hints' (a list of points), not {type(document).__name__}")
    try:
        doc = _HintsDocument.model_validate(document)
    except ValidationError as exc:
        raise ColorkitError(f"{source}: {_problem(exc)}") from None
    px = doc.units == "px"
    short = min(width, height)
    hints = []
    for i, entry in enumerate(doc.hints):
        if entry.frame is not None and not allow_frame:
            raise ColorkitError(f"{source}: hints[{i}]: 'frame' is for a video's hints; a photo has no frames")
        for axis, value, extent in (("x", entry.x, width), ("y", entry.y, height)):
            top = extent - 1 if px else 1
            if not 0 <= value <= top:
                unit = f"pixels 0..{extent - 1} of a {width}x{height} photo" if px else "units \"fraction\": 0..1"
                raise ColorkitError(f"{source}: hints[{i}]: {axis} = {value:g} is outside the image ({unit})")
        x, y = ((entry.x + 0.5) / width, (entry.y + 0.5) / height) if px else (entry.x, entry.y)
        ab = _ab_of_color(entry.color) if entry.color is not None else (float(entry.ab[0]), float(entry.ab[1]))
        radius = entry.radius / short if px else entry.radius
        hints.append(Hint(x=x, y=y, ab=ab, radius=radius, frame=entry.frame))
    return hints


def _number(value: float) -> float | int:
    """``value`` rounded to 1/1000, written as an integer when it is one (a readable file)."""
    value = round(value, 3)
    return int(value) if value == int(value) else value


def hints_document(hints: list[Hint], width: int, height: int) -> dict:
    """A hints document in pixels of a ``width`` x ``height`` photo for ``hints``: what
    :func:`parse_hints` reads back as the same hints (positions and radius to 1/1000 pixel; ``ab``
    written exactly, since a ``#rrggbb`` colour would round it and carry an L the photo ignores)."""
    entries = []
    for h in hints:
        entry = {"x": _number(h.x * width - 0.5), "y": _number(h.y * height - 0.5), "ab": [float(h.ab[0]), float(h.ab[1])]}
        if h.radius:
            entry["radius"] = _number(h.radius * min(width, height))
        if h.frame is not None:
            entry["frame"] = h.frame
        entries.append(entry)
    return {"units": "px", "hints": entries}


def load_document(path: str | Path) -> dict:
    """The document of a hints file (JSON or TOML by its suffix); a malformed one is one line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ColorkitError(f"{path}: a hints file is .json or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ColorkitError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ColorkitError(f"{path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ColorkitError(f"{path}: malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ColorkitError(f"{path}: malformed TOML: {exc}") from None


def read_hints_file(path: str | Path, width: int, height: int, *, allow_frame: bool = False) -> list[Hint]:
    """The hints of the file ``path`` (JSON or TOML) for a photo of ``width`` x ``height`` pixels."""
    return parse_hints(load_document(path), width, height, str(path), allow_frame=allow_frame)


def photo_stem(path: str | Path) -> str | None:
    """The name (without suffix) of the photo a hints file is for: ``NAME`` for ``NAME.hints.json``;
    None when ``path`` is not named like a hints file."""
    name = Path(path).name
    return next((name[: -len(suffix)] for suffix in HINTS_SUFFIXES if name.lower().endswith(suffix)), None)


def is_hints_name(path: str | Path) -> bool:
    """Whether ``path`` is named like a hints file (``NAME.hints.json`` or ``NAME.hints.toml``)."""
    return photo_stem(path) is not None


def hints_file_for(photo: str | Path) -> Path | None:
    """The hints file beside ``photo`` (``NAME.hints.json`` or ``.hints.toml`` for ``NAME.jpg``), if any."""
    photo = Path(photo)
    for suffix in HINTS_SUFFIXES:
        candidate = photo.with_name(photo.stem + suffix)
        if candidate.is_file():
            return candidate
    return None
