"""Which photos of a ``colorize`` run have hints, and their hints read at each photo's size.

A photo's hints come from ``--hints FILE`` (a single photo) or from ``NAME.hints.json`` /
``NAME.hints.toml`` beside ``NAME.jpg`` (:func:`colorkit.hints.file.hints_file_for`). A hints file in
an input folder with no photo of its name beside it is reported (:func:`orphans`); a hints file that
cannot be read stops only its own photo (:func:`read_all`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.images import is_image_name, open_image
from colorkit.errors import ColorkitError, ImageError
from colorkit.hints import Hint
from colorkit.hints.file import hints_file_for, is_hints_name, photo_stem, read_hints_file

ORIENTATION = 0x0112
"""The EXIF orientation tag; values 5 to 8 turn the photo a quarter, swapping width and height."""


def hints_files(inputs: list[Path], jobs: list[tuple[Path, Path]], explicit: Path | None) -> dict[Path, Path]:
    """``{photo: hints file}`` for the photos of ``jobs``: ``explicit`` (``--hints``) for a single
    photo, else the hints file beside each photo that has one."""
    if explicit is None:
        return {src: found for src, _ in jobs if (found := hints_file_for(src)) is not None}
    if len(inputs) != 1 or inputs[0].is_dir():
        what = "a folder" if any(p.is_dir() for p in inputs) else f"{len(inputs)} inputs"
        raise ColorkitError(f"--hints {explicit}: a hints file gives places in one photo, so it takes a single photo, "
                            f"not {what}; in a folder, put NAME.hints.json beside each NAME.jpg instead")
    if not explicit.is_file():
        raise ColorkitError(f"--hints {explicit}: no such file")
    return {src: explicit for src, _ in jobs}


def orphans(inputs: list[Path]) -> list[str]:
    """The hints files in input folders with no photo of their name beside them, each with the reason."""
    problems = []
    stems: dict[Path, set[str]] = {}
    for folder in (p for p in inputs if p.is_dir()):
        for path in sorted(p for p in folder.rglob("*") if is_hints_name(p)):
            stem = photo_stem(path)
            if path.parent not in stems:
                stems[path.parent] = {p.stem for p in path.parent.iterdir() if is_image_name(p)}
            if stem not in stems[path.parent]:
                problems.append(f"{path}: a hints file for a photo named {stem}, but there is no such photo beside it")
    return problems


def photo_size(path: Path) -> tuple[int, int]:
    """The photo's (width, height) upright, as it is coloured and as an image viewer shows it."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            return (h, w) if img.getexif().get(ORIENTATION) in (5, 6, 7, 8) else (w, h)
    except Exception:  # noqa: BLE001 - a format Pillow cannot open: open_image's fallbacks, or its one-line error
        shape = np.asarray(open_image(path)).shape
        return shape[1], shape[0]


def read_all(files: dict[Path, Path]) -> tuple[dict[Path, list[Hint]], dict[Path, str]]:
    """Each photo's hints, and the photos whose hints file cannot be used, each with its one-line reason.

    A photo that cannot be opened is in neither: the colouring reports it as a bad image."""
    hints, problems = {}, {}
    for photo, path in files.items():
        try:
            width, height = photo_size(photo)
        except ImageError:
            continue
        try:
            hints[photo] = read_hints_file(path, width, height)
        except ColorkitError as exc:
            problems[photo] = str(exc)
    return hints, problems
