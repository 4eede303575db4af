"""``colorkit evaluate``: PSNR, SSIM, ab-MSE and colourfulness against the truth, per group too."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import Progress
from rich.markup import escape
from rich.table import Table

from colorkit.cli.common import EXIT_FILES_FAILED, catch_errors, check_size, err, hint_models, out, print_json, problems
from colorkit.data.images import find_images, printable, read_split, set_max_pixels
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_json
from colorkit.outputs import Outputs, run_directory
from colorkit.plugins import get_host

if TYPE_CHECKING:
    from colorkit.inference.evaluate import EvalResult

COLUMNS = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_gap")


def _table(title: str, rows: dict[str, dict[str, float]], truth: float | None, n: int | None = None) -> Table:
    table = Table(title=title if n is None else f"{title} ({n} photos)")
    table.add_column("prediction")
    for c in COLUMNS:
        table.add_column(c, justify="right")
    for name, metrics in rows.items():
        if name == "truth":
            continue
        table.add_row(name, *(f"{metrics[c]:.4f}" if c == "ssim" else f"{metrics[c]:.2f}" for c in COLUMNS if c in metrics))
    if truth is not None:
        table.add_row("truth", "inf", "1.0000", "0.00", f"{truth:.2f}", "0.00")
    return table


def parse_tint(text: str) -> tuple[float, float]:
    """``"12.8,15.5"`` -> ``(12.8, 15.5)``; anything else is one line naming --tint."""
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise ColorkitError(f"--tint {text!r}: expected two numbers A,B (LAB a and b), e.g. 12.8,15.5") from None
    if not all(-128 <= v <= 127 for v in (a, b)):
        raise ColorkitError(f"--tint {text!r}: LAB a and b lie between -128 and 127")
    return a, b


MAX_HINTS = 256
"""The most hints per photo ``--hints`` measures."""


def parse_hint_counts(text: str) -> list[int]:
    """``"0,1,2,5"`` -> ``[0, 1, 2, 5]``; anything else is one line naming --hints."""
    try:
        counts = [int(v) for v in text.split(",")]
    except ValueError:
        raise ColorkitError(f"--hints {text!r}: expected whole numbers of hints per photo, e.g. 0,1,2,5,10,20") from None
    if not all(0 <= c <= MAX_HINTS for c in counts):
        raise ColorkitError(f"--hints {text!r}: each number of hints lies between 0 and {MAX_HINTS}")
    return sorted(set(counts))


def results_path(json_path: Path | None, checkpoint: Path, name: str) -> Path | None:
    """The results file: the ``--json`` path given, else ``name`` in the checkpoint's run directory;
    None when there is neither (a pretrained model, a loose checkpoint): the tables only, no file
    written where nobody asked for one. ``--json -`` is the caller's (stdout)."""
    if json_path is not None:
        return json_path
    run = run_directory(checkpoint)
    return run / name if run is not None else None


@catch_errors
def evaluate(
    checkpoint: Path = typer.Argument(..., help="A run directory, a .safetensors checkpoint or a pretrained model's name (`colorkit models`)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Folder of colour photos with known truth (this or --video is required)."),
    split: Optional[Path] = typer.Option(None, "--split", help="File listing the photos to use (names relative to --data)."),
    size: int = typer.Option(256, help="Evaluation resolution: photos are resized to size x size."),
    limit: Optional[int] = typer.Option(None, min=1, help="Use only the first N photos."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Where to write the results (default: the run directory; a pretrained model or loose checkpoint writes none unless asked); - prints them on stdout instead of tables."),
    device: str = typer.Option("auto", help='"auto", "cpu" or "cuda".'),
    max_pixels: Optional[int] = typer.Option(
        None, "--max-pixels", min=1, help="Refuse larger images (width x height; default 89478485, or COLORKIT_MAX_PIXELS)."
    ),
    tint: Optional[str] = typer.Option(
        None, "--tint", metavar="A,B", help="Also score one constant ab for every pixel (the training set's mean ab, e.g. 12.8,15.5 for UTKFace): the baseline a model must beat."
    ),
    video: Optional[Path] = typer.Option(
        None, "--video", help="A clip instead of --data: flicker, and PSNR when the clip is in colour, with and without stabilisation."
    ),
    hints: Optional[str] = typer.Option(
        None, "--hints", metavar="N,N,...", help="A hint model: also measure it with that many hints per photo, each the mean true colour of a small patch at places fixed by the photo's name (the same for every model and run), one row per number (e.g. 0,1,2,5,10,20)."
    ),
) -> None:
    """Measure a checkpoint beside the all-gray baseline; prints tables and writes JSON."""
    from colorkit.inference.colorizer import Colorizer, find_checkpoint  # imports torch: loaded when used, not for --help
    from colorkit.inference.evaluate import evaluate as run_evaluation

    check_size(size)
    set_max_pixels(max_pixels)
    tint_ab = parse_tint(tint) if tint is not None else None
    hint_counts = parse_hint_counts(hints) if hints is not None else None
    if hint_counts and video is not None:
        raise ColorkitError("--hints measures photos (--data); for a clip's hints, see benchmarks/video_hint_hold.py")
    if video is None and data is None:
        raise ColorkitError("give --data FOLDER (photos with known colour) or --video CLIP")
    source = find_checkpoint(checkpoint)  # a pretrained model's name becomes its checked weights file
    outputs = Outputs("choose another --json").reads_model(checkpoint).reads_model(source)  # the results file is checked before any work
    to_stdout = json_path == Path("-")
    if video is not None:  # streamed through PyAV (colorkit[video])
        from colorkit.cli.evaluate_video import evaluate_video_command

        target = None if to_stdout else results_path(json_path, source, f"evaluate-video-{video.stem}.json")
        if target is not None:
            outputs.reads(video).claim(target)
        return evaluate_video_command(Colorizer.load(source, device=device), video, target, to_stdout)
    unsearched: list[str] = []
    if split is not None:
        files, missing = read_split(data, split)
        if missing:
            raise ColorkitError(f"{split}: {len(missing)} listed photos are missing under {data}, first: {missing[0]}")
    else:
        found = find_images(data)
        files = found.files
        unsearched = [str(p) for p in found.problems]
    outputs.reads(*files, *([split] if split else []))
    files = files[:limit] if limit else files
    if not files:
        raise ColorkitError(f"--data {data}: no photos to evaluate")
    target = None if to_stdout else results_path(json_path, source, f"evaluate-{(split.stem if split else data.name)}.json")
    if target is not None:
        outputs.claim(target)
    colorizer = Colorizer.load(source, device=device)
    if any(hint_counts or []) and not colorizer.takes_hints:
        raise ColorkitError(f"--hints {hints}: {colorizer.source} has no hint channels (trained without [hints]); measure {hint_models()}, or leave out --hints")
    host = get_host()
    metrics = {name: host.metrics.get(name).factory for name in host.metrics.names()}
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("evaluating", total=len(files))
        result = run_evaluation(colorizer, files, size=size, metrics=metrics, tint=tint_ab, hint_counts=hint_counts,
                                on_progress=lambda k: progress.advance(task, k))
    record = dict(result.to_json(), failed=unsearched + result.failed, checkpoint=colorizer.source, data=str(data), split=str(split) if split else None, size=size)
    if to_stdout:
        print_json(record)
    else:
        _report(result)
        save_results(target, record)
    failed = unsearched + result.failed
    if failed:
        problems.print(f"[red]{len(failed)} failed[/] (left out of the results):")
        for line in failed:
            problems.print(f"[red]failed:[/] {escape(printable(line))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FILES_FAILED)


def save_results(target: Path | None, record: dict) -> None:
    """Write ``record`` to ``target`` (already checked) and say where; say how to keep it when None."""
    if target is None:
        out.print("results not written (no run directory): add --json FILE to keep them", highlight=False)
        return
    atomic_write_json(target, record)
    out.print(f"results written to {escape(printable(str(target)))}", highlight=False)


def _report(result: EvalResult) -> None:
    truth = result.overall.get("truth", {}).get("colorfulness")
    out.print(_table("overall", result.overall, truth, result.n))
    if result.groups:
        table = Table(title="per group (model)")
        table.add_column("group")
        table.add_column("n", justify="right")
        for c in COLUMNS:
            table.add_column(c, justify="right")
        table.add_column("truth colourfulness", justify="right")
        for group, rows in result.groups.items():
            m = rows["model"]
            table.add_row(group, str(result.counts[group]), *(f"{m[c]:.4f}" if c == "ssim" else f"{m[c]:.2f}" for c in COLUMNS if c in m), f"{rows.get('truth', {}).get('colorfulness', float('nan')):.2f}")
        out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
