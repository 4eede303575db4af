"""``colorkit colorize``: colour photos, folders and videos with a pretrained model or a trained checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.progress import Progress
from rich.markup import escape

from colorkit.cli.common import catch_errors, check_size, err, hint_models, one_line, out, report_failures
from colorkit.data.encode import reads_back
from colorkit.data.images import find_images, is_image_name, printable, set_max_pixels
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_bytes
from colorkit.outputs import Outputs, input_problem, screen
from colorkit.video import is_video_name
from colorkit.zoo import DEFAULT_HINT_MODEL, DEFAULT_MODEL


def plan(inputs: list[Path], output: Path, outputs: Outputs, *, side_by_side: bool = False) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, destination) pairs, and the inputs that cannot be used, each with its reason.

    A photo whose result or before/after image would replace an input, the model or another photo's
    result is refused (:func:`colorkit.outputs.screen`); with a single photo and an image file ``-o``,
    that refusal is an error."""
    from colorkit.inference import photo_files  # imports torch: loaded when used, not for --help

    def targets(dst: Path) -> tuple[Path, ...]:
        return (dst, photo_files.before_after_path(dst)) if side_by_side else (dst,)

    if len(inputs) == 1 and inputs[0].is_file() and is_image_name(output):
        outputs.reads(inputs[0]).claim(*targets(output), owner=inputs[0])
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
            problems.append(input_problem(item) or f"{item}: no such file or folder")
    usable, refused = screen(jobs, outputs, targets=targets, verb="not coloured")
    return usable, problems + refused


def model_and_inputs(args: list[Path], model: Optional[str]) -> tuple[str | None, list[Path]]:
    """``[MODEL] INPUT...``: the first argument is the model when it names one (a run directory, a
    checkpoint, an ONNX file, a pretrained model), else every argument is an input and the model is
    None (:func:`default_model` chooses); ``--model`` takes the model out of the arguments."""
    from colorkit.inference.colorizer import names_a_model

    if model is not None:
        return model, args
    if len(args) > 1 and names_a_model(args[0]):
        return str(args[0]), args[1:]
    if len(args) == 1 and Path(args[0]).exists() and names_a_model(args[0]):
        raise ColorkitError(f"{args[0]} is a model: name the photos, folders or videos to colour after it")
    return None, args


def default_model(hinted: bool) -> str:
    """The pretrained model that colours when none is named: the default hint model when there are hints to follow."""
    if not hinted:
        return DEFAULT_MODEL
    err.print(f"[yellow]note:[/] hints given and no model named: colouring with {DEFAULT_HINT_MODEL}, the default hint model", highlight=False)
    return DEFAULT_HINT_MODEL


@catch_errors
def colorize(
    args: List[Path] = typer.Argument(
        ..., metavar="[MODEL] INPUT...",
        help=f"An optional model first: a run directory (its best checkpoint), a .safetensors checkpoint, a .onnx model from `colorkit export` or a pretrained model's name (`colorkit models`; default {DEFAULT_MODEL}, or {DEFAULT_HINT_MODEL} when there are hints). Then photos and folders (searched recursively), or videos (mp4, mov, mkv, avi).",
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="The model, instead of naming it first: a run directory, checkpoint, .onnx file or pretrained model name."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder, or an image or video file for a single input."),
    device: str = typer.Option("auto", help='"auto", "cpu" or "cuda".'),
    batch_size: int = typer.Option(8, min=1, help="Photos per network batch."),
    max_pixels: Optional[int] = typer.Option(
        None, "--max-pixels", min=1, help="Refuse larger images (width x height; default 89478485, or COLORKIT_MAX_PIXELS)."
    ),
    size: Optional[int] = typer.Option(
        None, "--size", help="Network resolution (default: the training size); larger: more detail, more time. A multiple of the model's input stride."
    ),
    stabilize: bool = typer.Option(True, "--stabilize/--no-stabilize", help="Videos: carry colour along the motion from frame to frame; --no-stabilize colours each frame alone."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Also write NAME_before_after.EXT: the input and the result side by side."),
    backend: str = typer.Option(
        "auto", "--backend", help='Where the network runs: "auto" (onnxruntime on a CPU when installed, the faster one there; else torch), "torch", or "onnxruntime" (needs colorkit[onnx]; a checkpoint is exported once to the cache). A .onnx model always runs with onnxruntime.'
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Threads decoding photos and, as many again, encoding results, overlapped with the network."),
    hints: Optional[Path] = typer.Option(
        None, "--hints", help="A hints file (JSON or TOML, docs/hints.md) for the single photo or video named: colours at points of it, for a hint model. Without it, NAME.hints.json or NAME.hints.toml beside a photo NAME.jpg (or a video) is used."
    ),
    no_hints: bool = typer.Option(False, "--no-hints", help="Ignore the hints files beside the photos and videos (to colour them with a model without hint channels)."),
) -> None:
    """Colour photos: full-resolution L of each photo joined with the predicted ab."""
    from colorkit.inference import photo_files, photo_hints
    from colorkit.inference.colorizer import Colorizer, find_checkpoint
    from colorkit.inference.pipeline import colour_files

    check_size(size)
    set_max_pixels(max_pixels)
    if hints is not None and no_hints:
        raise ColorkitError("--hints and --no-hints: choose one")
    named, inputs = model_and_inputs(list(args), model)
    # a pretrained model's name becomes its checked weights file (fetched on first use)
    candidates = [named] if named else [DEFAULT_MODEL, DEFAULT_HINT_MODEL]  # which default: once the hints are known
    checkpoints = {m: m if Path(m).suffix.lower() == ".onnx" else find_checkpoint(m) for m in candidates}
    outputs = Outputs()  # every target is checked before the model is loaded
    for name, checkpoint in checkpoints.items():
        outputs.reads_model(name).reads_model(checkpoint)
    if any(is_video_name(p) for p in inputs):  # streamed through PyAV (colorkit[video]); prints its own summary
        from colorkit.cli.colorize_video import colour_videos, plan_videos

        videos, failed = plan_videos(list(inputs), output, outputs, hints=hints, beside=not no_hints)
        video_hint_files = {src: Path(carrier.source) for src, _, carrier in videos if carrier}
        named = named or default_model(bool(video_hint_files))
        colorizer = Colorizer.load(checkpoints[named], device=device, size=size, backend=backend)
        if video_hint_files and not colorizer.takes_hints:
            raise ColorkitError(refused_hints(named, hints, video_hint_files))
        return colour_videos(colorizer, videos, failed, output, stabilize=stabilize, batch_size=batch_size)
    jobs, failed = plan(list(inputs), output, outputs, side_by_side=side_by_side)
    hint_files = {} if no_hints else photo_hints.hints_files(list(inputs), jobs, hints)
    if not no_hints:
        failed += photo_hints.orphans(list(inputs))
    named = named or default_model(bool(hint_files))
    colorizer = Colorizer.load(checkpoints[named], device=device, size=size, backend=backend)
    if hint_files and not colorizer.takes_hints:
        raise ColorkitError(refused_hints(named, hints, hint_files))
    photo_hint_lists, bad_hints = photo_hints.read_all(hint_files)
    if hints is not None and bad_hints:
        raise ColorkitError(next(iter(bad_hints.values())))
    failed += [f"{src}: not coloured: {why}" for src, why in bad_hints.items()]  # the others still are
    jobs = [(src, dst) for src, dst in jobs if src not in bad_hints]

    def save(src: Path, dst: Path, photo: np.ndarray, rgb: np.ndarray) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        for path, data, size in photo_files.outputs(src, photo, rgb, dst, colorizer, side_by_side=side_by_side, hints=photo_hint_lists.get(src)):
            atomic_write_bytes(path, data, check=reads_back(size))  # 16-bit where the scan and format allow; EXIF, ICC, DPI kept

    done, hinted = 0, []
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("colorizing", total=len(jobs))
        for outcome in colour_files(colorizer, jobs, save, batch_size=batch_size, workers=workers, hints=photo_hint_lists):
            if outcome.note:
                err.print(f"[yellow]note:[/] {escape(printable(outcome.note))}", highlight=False, soft_wrap=True)
            if outcome.error is None:
                done += 1
                if outcome.src in photo_hint_lists:
                    hinted.append(outcome.src)
            else:
                failed.append(outcome.error)
            progress.advance(task)
    with_hints = f", {len(hinted)} with hints" if hint_files else ""
    out.print(f"coloured {done} of {done + len(failed)} files into {escape(printable(str(output)))}{with_hints}", highlight=False)
    for src in hinted:
        n = len(photo_hint_lists[src])
        out.print(f"with hints: {one_line(str(src))} ({n} hint{'s' * (n != 1)} from {one_line(str(hint_files[src]))})", highlight=False, soft_wrap=True)
    report_failures(failed)


def refused_hints(model: str, explicit: Path | None, files: dict[Path, Path]) -> str:
    """Why ``model`` (as the user named it) cannot colour with these hints files (nothing is written)."""
    if explicit is not None:
        return f"{model}: this model has no hint channels (trained without [hints]), so it cannot take --hints {explicit}; use {hint_models()}"
    names = sorted(str(p) for p in set(files.values()))
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (f"{model}: this model has no hint channels (trained without [hints]), so it cannot follow the hints files "
            f"beside {len(files)} photo{'s' * (len(files) != 1)} ({shown}); use {hint_models()}, or --no-hints to ignore them")


def register(app: typer.Typer) -> None:
    app.command()(colorize)
