"""``colorkit colorize`` for videos: streamed frame by frame, with a progress bar in frames/s and ETA."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from colorkit.cli.common import err, out, report_failures
from colorkit.data.images import printable
from colorkit.errors import ColorkitError
from colorkit.outputs import Outputs, screen
from colorkit.video import is_video_name, require

if TYPE_CHECKING:
    from colorkit.video.hints import HintCarrier


def video_progress() -> Progress:
    """A Rich progress bar on stderr: bar, frames done of total, frames/s, time left."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]} frames/s"), TimeRemainingColumn(), console=err, transient=True,
    )


Job = tuple[Path, Path, "HintCarrier | None"]
"""One video to colour: source, destination, and its hints (None: none)."""


def plan_videos(inputs: list[Path], output: Path, outputs: Outputs, *, hints: Path | None = None,
                beside: bool = True) -> tuple[list[Job], list[str]]:
    """(source, destination, hints) jobs for ``colour_videos``, and the videos refused with their reason.

    Each video's result and its ``.partial`` file are claimed (see :mod:`colorkit.outputs`); for a
    single video with a video file ``-o``, a refusal is an error. A video's hints are ``hints`` (one
    video only) or, unless ``beside=False`` (``--no-hints``), the ``NAME.hints.json`` (or ``.toml``)
    beside it, read before any model is loaded: a bad hints file refuses its video (for a single
    video, it is an error)."""
    require()
    from colorkit.video.io import partial_path

    photos = [p for p in inputs if not is_video_name(p)]
    if photos:
        raise ColorkitError(f"{photos[0]}: colour videos and photos in separate commands (this one has both)")
    if hints is not None and len(inputs) > 1:
        raise ColorkitError(f"--hints {hints}: names one video's hints; for several videos put NAME.hints.json beside each")
    outputs.reads(*inputs)
    if hints is not None:
        outputs.reads(hints, what="the hints file")
    if len(inputs) == 1 and is_video_name(output) and not output.is_dir():
        outputs.claim(output, partial_path(output), owner=inputs[0])
        return [(inputs[0], output, video_hints(inputs[0], hints, outputs, beside=beside))], []
    if output.exists() and not output.is_dir():
        raise ColorkitError(f"-o {output}: exists and is not a folder (several inputs need an output folder)")
    if is_video_name(output):
        raise ColorkitError(f"-o {output}: several videos need an output folder, not a video file name")
    usable, failed = screen([(src, output / src.name) for src in inputs], outputs, targets=lambda dst: (dst, partial_path(dst)), verb="not coloured")
    jobs = []
    for src, dst in usable:
        try:
            jobs.append((src, dst, video_hints(src, hints, outputs, beside=beside)))
        except ColorkitError as exc:
            failed.append(str(exc))
    return jobs, failed


def video_hints(video: Path, hints: Path | None, outputs: Outputs, *, beside: bool = True) -> HintCarrier | None:
    """The hints of ``video`` from ``hints`` or (with ``beside``) the hints file beside it (None: no
    hints), checked against its size and, where its header has one, its frame count."""
    from colorkit.hints.file import hints_file_for, read_hints_file
    from colorkit.video.hints import HintCarrier
    from colorkit.video.io import probe

    path = hints or (hints_file_for(video) if beside else None)
    if path is None:
        return None
    if not path.is_file():
        raise ColorkitError(f"--hints {path}: no such file")
    outputs.reads(path, what="the hints file")
    info = probe(video)
    carrier = HintCarrier(read_hints_file(path, info.width, info.height, allow_frame=True), source=str(path))
    if info.frames:
        carrier.check_length(info.frames, str(video))
    return carrier


def colour_videos(colorizer, jobs: list[Job], failed: list[str], output: Path, *, stabilize: bool = True,
                  batch_size: int = 8) -> None:
    """Colour each ``(source, destination, hints)`` job from :func:`plan_videos`; a video that cannot be
    read or written is listed at the end with those in ``failed`` (exit status 1), the others are still
    coloured. The caller refuses hints for a model without hint channels before calling this."""
    from colorkit.video.io import VideoError, estimated_frames, probe
    from colorkit.video.pipeline import colorize_video
    from colorkit.video.stabilize import StabilizeParams

    params = StabilizeParams() if stabilize else None
    done = 0
    for src, dst, hints in jobs:
        try:
            info = probe(src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with video_progress() as progress:
                task = progress.add_task(escape(printable(src.name)), total=estimated_frames(info), rate="-")

                def advance(n: int) -> None:
                    progress.advance(task, n)
                    speed = progress.tasks[0].speed
                    progress.update(task, rate=f"{speed:.1f}" if speed else "-")

                result = colorize_video(colorizer, src, dst, stabilize=params, hints=hints, batch_size=batch_size, on_frames=advance)
            err.print(
                f"{escape(printable(str(dst)))}: {result.frames} frames at {float(info.fps):.3g} fps, {info.width} x {info.height}, "
                f"audio {'copied' if info.audio else 'none'}, {'stabilised' if params else 'per frame'}"
                + (f", {len(result.cuts)} scene cut{'s' if len(result.cuts) > 1 else ''} (at frame{'s' if len(result.cuts) > 1 else ''} "
                   f"{', '.join(map(str, result.cuts))})" if result.cuts else "")
                + (f", {hints_summary(hints)}" if hints else "")
                + f", {result.frames / max(result.seconds, 1e-9):.1f} frames/s",
                highlight=False, soft_wrap=True,
            )
            done += 1
        except VideoError as exc:
            failed.append(str(exc))
        except OSError as exc:
            failed.append(f"{src}: could not write {dst}: {exc.strerror or exc}")
    out.print(f"coloured {done} of {done + len(failed)} videos into {escape(printable(str(output)))}", highlight=False)
    report_failures(failed)


def hints_summary(hints: HintCarrier) -> str:
    """``3 hints from clip.hints.json on 2 keyframes, carried to 40 frames``: what the hints covered."""
    n, keys, covered = len(hints.hints), len(hints.keyframes), sum(1 for c in hints.counts if c)
    return (f"{n} hint{'s' if n > 1 else ''} from {escape(printable(hints.source))} on {keys} keyframe{'s' if keys > 1 else ''}, "
            f"carried to {covered} frame{'s' if covered != 1 else ''}")
