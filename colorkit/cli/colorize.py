"""``colorkit colorize``: colour photos and folders with a trained checkpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import List

import numpy as np
import typer
from PIL import Image
from rich.progress import Progress
from rich.table import Table

from colorkit.cli.common import EXIT_FILES_FAILED, catch_errors, err, out
from colorkit.data.images import find_images, is_image_name, load_rgb
from colorkit.engine.colorizer import Colorizer
from colorkit.engine.files import atomic_write_bytes
from colorkit.errors import ColorkitError, ImageError


def plan(inputs: list[Path], output: Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, destination) pairs, and the inputs that cannot be used, each with its reason."""
    if len(inputs) == 1 and inputs[0].is_file() and is_image_name(output):
        return [(inputs[0], output)], []
    if output.exists() and not output.is_dir():
        raise ColorkitError(f"-o {output}: exists and is not a folder (several inputs need an output folder)")
    jobs: list[tuple[Path, Path]] = []
    problems: list[str] = []
    for item in inputs:
        if item.is_dir():
            found = find_images(item)
            problems += [str(p) for p in found.problems]
            jobs += [(f, output / f.relative_to(item)) for f in found.files]
        elif item.exists():
            jobs.append((item, output / item.name))
        else:
            problems.append(f"{item}: no such file or folder")
    seen: dict[Path, Path] = {}
    unique = []
    for src, dst in jobs:
        if dst.resolve() == src.resolve():
            problems.append(f"{src}: the output would overwrite the input; choose another -o")
        elif dst in seen:
            problems.append(f"{src}: same output name as {seen[dst]} ({dst}); colour them into separate folders")
        else:
            seen[dst] = src
            unique.append((src, dst))
    return unique, problems


def encode(rgb: np.ndarray, dst: Path) -> bytes:
    fmt = Image.registered_extensions().get(dst.suffix.lower(), "PNG")
    buf = io.BytesIO()
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    Image.fromarray(rgb).save(buf, format=fmt, **options)
    return buf.getvalue()


@catch_errors
def colorize(
    checkpoint: Path = typer.Argument(..., help="A run directory (uses its best checkpoint) or a .safetensors checkpoint."),
    inputs: List[Path] = typer.Argument(..., help="Photos and folders (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder, or an image file for a single input."),
    device: str = typer.Option("auto", help='"auto", "cpu" or "cuda".'),
    batch_size: int = typer.Option(8, min=1, help="Photos per network batch."),
) -> None:
    """Colour photos: full-resolution L of each photo joined with the predicted ab."""
    colorizer = Colorizer.load(checkpoint, device=device)
    jobs, failed = plan(list(inputs), output)
    done = 0
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("colorizing", total=len(jobs))
        for start in range(0, len(jobs), batch_size):
            batch = []
            for src, dst in jobs[start : start + batch_size]:
                try:
                    batch.append((src, dst, load_rgb(src)))
                except ImageError as exc:
                    failed.append(str(exc))
            results = colorizer.colorize_many([rgb for _, _, rgb in batch]) if batch else []
            for (src, dst, _), rgb in zip(batch, results):
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_bytes(dst, encode(rgb, dst))
                    done += 1
                except (OSError, ValueError, ColorkitError) as exc:
                    failed.append(f"{src}: could not write {dst}: {exc}")
            progress.advance(task, len(jobs[start : start + batch_size]))
    out.print(f"coloured {done} of {done + len(failed)} files into {output}", highlight=False)
    if failed:
        table = Table(title=f"{len(failed)} failed", show_header=False)
        for line in failed:
            table.add_row(line)
        err.print(table)
        raise typer.Exit(EXIT_FILES_FAILED)


def register(app: typer.Typer) -> None:
    app.command()(colorize)
