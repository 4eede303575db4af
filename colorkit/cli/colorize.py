"""``colorkit colorize``: colour photos and folders with a trained checkpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from PIL import Image
from rich.progress import Progress
from rich.markup import escape

from colorkit.cli.common import catch_errors, err, out, report_failures
from colorkit.data.images import find_images, is_image_name, load_rgb, printable, set_max_pixels
from colorkit import archive
from colorkit.engine.colorizer import Colorizer
from colorkit.engine.files import atomic_write_bytes
from colorkit.errors import ColorkitError, ImageError
from colorkit.video import is_video_name


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
    inputs: List[Path] = typer.Argument(..., help="Photos and folders (searched recursively), or videos (mp4, mov, mkv, avi)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder, or an image or video file for a single input."),
    device: str = typer.Option("auto", help='"auto", "cpu" or "cuda".'),
    batch_size: int = typer.Option(8, min=1, help="Photos per network batch."),
    max_pixels: Optional[int] = typer.Option(
        None, "--max-pixels", min=1, help="Refuse larger images (width x height; default 89478485, or COLORKIT_MAX_PIXELS)."
    ),
    size: Optional[int] = typer.Option(
        None, "--size", min=8, help="Network resolution (default: the training size); larger: more detail, more time. A multiple of the model's input stride."
    ),
    stabilize: bool = typer.Option(True, "--stabilize/--no-stabilize", help="Videos: carry colour along the motion from frame to frame; --no-stabilize colours each frame alone."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Also write NAME_before_after.EXT: the input and the result side by side."),
) -> None:
    """Colour photos: full-resolution L of each photo joined with the predicted ab."""
    set_max_pixels(max_pixels)
    colorizer = Colorizer.load(checkpoint, device=device, size=size)
    if any(is_video_name(p) for p in inputs):  # streamed through PyAV (colorkit[video]); prints its own summary
        from colorkit.cli.colorize_video import colour_videos

        return colour_videos(colorizer, list(inputs), output, stabilize=stabilize, batch_size=batch_size)
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
            for (src, dst, photo), rgb in _colour(colorizer, batch, failed):
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    for path, data in archive.outputs(src, photo, rgb, dst, colorizer, side_by_side=side_by_side):
                        atomic_write_bytes(path, data)  # 16-bit where the scan and format allow; EXIF, ICC, DPI kept
                    done += 1
                except (OSError, ValueError, ColorkitError) as exc:
                    failed.append(f"{src}: could not write {dst}: {exc}")
            progress.advance(task, len(jobs[start : start + batch_size]))
    out.print(f"coloured {done} of {done + len(failed)} files into {escape(printable(str(output)))}", highlight=False)
    report_failures(failed)


def _colour(colorizer: Colorizer, batch: list, failed: list[str]) -> list:
    """(job, coloured photo) pairs for a batch; if the batch fails (out of memory, say), photo by photo."""
    if not batch:
        return []
    try:
        return list(zip(batch, colorizer.colorize_many([rgb for _, _, rgb in batch])))
    except (RuntimeError, MemoryError):
        pass
    done = []
    for job in batch:
        try:
            done.append((job, colorizer.colorize(job[2])))
        except (RuntimeError, MemoryError) as exc:
            failed.append(f"{job[0]}: could not colour: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return done


def register(app: typer.Typer) -> None:
    app.command()(colorize)
