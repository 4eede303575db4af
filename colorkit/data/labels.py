"""Group labels from file names, for per-group metrics: gender, race and age bin of UTKFace names,
and the source of collections that prefix names with ``SOURCETAG__`` (people_scenes: ``ccp__0001.jpg``).

UTKFace names are ``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg``: gender 0 male, 1 female; race
0 white, 1 black, 2 asian, 3 indian, 4 other. A name that does not follow this pattern (a missing
field, a non-number, a code outside the table: the published set has at least one such file,
``61_3_20170109150557335.jpg.chip.jpg``) gives ``None`` rather than a guess.
"""

from __future__ import annotations

import os
import re

__all__ = ["GENDERS", "RACES", "AGE_BINS", "MAX_AGE", "GROUP_KEYS", "SOURCE_KEY", "age_bin", "parse_groups"]

GENDERS = {0: "male", 1: "female"}
RACES = {0: "white", 1: "black", 2: "asian", 3: "indian", 4: "other"}
AGE_BINS = ((0, 19, "0-19"), (20, 39, "20-39"), (40, 59, "40-59"), (60, None, "60+"))
"""(first age, last age or None for open-ended, label)."""
MAX_AGE = 130
"""Ages above this are treated as a malformed name (UTKFace goes up to 116)."""
GROUP_KEYS = ("gender", "race", "age")
"""The groups of a UTKFace name."""
SOURCE_KEY = "source"
"""The group of a ``SOURCETAG__NAME`` file name."""

_NAME = re.compile(r"^(\d{1,3})_(\d)_(\d)_(\d+)(?:\.|$)", re.ASCII)
_SOURCE = re.compile(r"^([a-z][a-z0-9]{0,15})__.", re.ASCII)


def age_bin(age: int) -> str:
    """The age group label of ``age`` in years: "0-19", "20-39", "40-59" or "60+"."""
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    for low, high, label in AGE_BINS:
        if age >= low and (high is None or age <= high):
            return label
    raise AssertionError("unreachable: AGE_BINS covers every age >= 0")


def parse_groups(filename: str | os.PathLike) -> dict[str, str] | None:
    """``"25_1_1_20170116.jpg.chip.jpg"`` -> ``{"gender": "female", "race": "black", "age": "20-39"}``.

    ``"ccp__0001.jpg"`` -> ``{"source": "ccp"}`` (a lower-case tag of up to 16 letters and digits).
    Accepts a bare name or a path (only the last component is read). Returns ``None`` when the name
    is neither ``AGE_GENDER_RACE_DATETIME...`` with a known gender and race code and a plausible age,
    nor ``TAG__...``.
    """
    try:
        name = os.path.basename(os.fspath(filename))
    except TypeError:
        return None
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    m = _NAME.match(name)
    if m is None:
        tagged = _SOURCE.match(name)
        return {SOURCE_KEY: tagged.group(1)} if tagged else None
    age, gender, race = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if gender not in GENDERS or race not in RACES or age > MAX_AGE:
        return None
    return {"gender": GENDERS[gender], "race": RACES[race], "age": age_bin(age)}
