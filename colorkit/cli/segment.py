"""``colorkit segment``: overlays of a preprocessor's channels (face parts) on photos, for checking by eye."""

from __future__ import annotations

import io
from pathlib import Path
from typing import List

import numpy as np
import typer
from PIL import Image
from rich.markup import escape

from colorkit.cli.common import catch_errors, err, out, report_failures
from colorkit.data.images import find_images, open_image, printable, resize_rgb
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_bytes
from colorkit.outputs import Outputs, input_problem, screen
from colorkit.plugins import get_host


def _jobs(inputs: list[Path], output: Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(photo, overlay file) pairs from files and folders, and the inputs that cannot be used; an
    overlay that would replace an input or another photo's overlay is refused (see :mod:`colorkit.outputs`)."""
    jobs, problems = [], []
    for item in inputs:
        if item.is_dir():
            found = find_images(item)
            problems += [str(p) for p in found.problems]
            jobs += [(f, output / f"{f.relative_to(item).with_suffix('')}.parts.png") for f in found.files]
        elif item.exists():
            jobs.append((item, output / f"{item.stem}.parts.png"))
        else:
            problems.append(input_problem(item) or f"{item}: no such file or folder")
    usable, refused = screen(jobs, Outputs(), verb="not segmented")
    return usable, problems + refused


@catch_errors
def segment(
    inputs: List[Path] = typer.Argument(..., help="Photos and folders (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder for the overlay PNGs (NAME.parts.png)."),
    preprocessor: str = typer.Option("face_parts", "--preprocessor", "-p", help="A registered preprocessor (`colorkit plugins` lists them)."),
    size: int = typer.Option(256, "--size", min=16, help="Square size the masks are computed and drawn at (a recipe's data.size to see what training sees)."),
) -> None:
    """Draw a preprocessor's channels (face parts: skin, brows, eyes, lips, nose, hair, background) over each photo's gray."""
    from colorkit.preprocess import Preprocessors, gray_u8  # imports torch: loaded when used, not for --help
    from colorkit.preprocess.overlay import legend, overlay

    if output.exists() and not output.is_dir():
        raise ColorkitError(f"-o {output}: exists and is not a folder")
    jobs, failed = _jobs(inputs, output)
    pre = Preprocessors([{"name": preprocessor, "args": {}}], get_host())
    done = 0
    for src, dst in jobs:
        try:
            rgb = resize_rgb(open_image(src), size)
        except ColorkitError as exc:
            failed.append(str(exc))
            continue
        channels = pre(rgb)
        dst.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(overlay(gray_u8(rgb), channels, pre.channels)).save(buf, format="PNG")
        atomic_write_bytes(dst, buf.getvalue())
        found = "no face" if not np.any(channels) else ", ".join(n for n, c in zip(pre.channels, channels) if c.max() > 0.5)
        err.print(f"{escape(printable(str(src)))} -> {escape(printable(str(dst)))} ({found})", highlight=False, soft_wrap=True)
        done += 1
    err.print(f"colours: {legend(pre.channels)}", highlight=False)
    out.print(f"segmented {done} of {done + len(failed)} files into {escape(printable(str(output)))}", highlight=False)
    report_failures(failed)


def register(app: typer.Typer) -> None:
    app.command()(segment)
