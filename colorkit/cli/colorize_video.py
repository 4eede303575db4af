"""``colorkit colorize`` for videos: streamed frame by frame, with a progress bar in frames/s and ETA."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from colorkit.cli.common import err, out, report_failures
from colorkit.data.images import printable
from colorkit.errors import ColorkitError
from colorkit.outputs import Outputs, screen
from colorkit.video import is_video_name, require


def video_progress() -> Progress:
    """A Rich progress bar on stderr: bar, frames done of total, frames/s, time left."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]} frames/s"), TimeRemainingColumn(), console=err, transient=True,
    )


def plan_videos(inputs: list[Path], output: Path, outputs: Outputs) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, destination) pairs for ``colour_videos``, and the videos refused with their reason.

    Each video's result and its ``.partial`` file are claimed (see :mod:`colorkit.outputs`); for a
    single video with a video file ``-o``, a refusal is an error."""
    require()
    from colorkit.video.io import partial_path

    photos = [p for p in inputs if not is_video_name(p)]
    if photos:
        raise ColorkitError(f"{photos[0]}: colour videos and photos in separate commands (this one has both)")
    outputs.reads(*inputs)
    if len(inputs) == 1 and is_video_name(output) and not output.is_dir():
        outputs.claim(output, partial_path(output), owner=inputs[0])
        return [(inputs[0], output)], []
    if output.exists() and not output.is_dir():
        raise ColorkitError(f"-o {output}: exists and is not a folder (several inputs need an output folder)")
    if is_video_name(output):
        raise ColorkitError(f"-o {output}: several videos need an output folder, not a video file name")
    return screen([(src, output / src.name) for src in inputs], outputs, targets=lambda dst: (dst, partial_path(dst)), verb="not coloured")


def colour_videos(colorizer, jobs: list[tuple[Path, Path]], failed: list[str], output: Path, *, stabilize: bool = True,
                  batch_size: int = 8) -> None:
    """Colour each ``(source, destination)`` job from :func:`plan_videos`; a video that cannot be read
    or written is listed at the end with those in ``failed`` (exit status 1), the others are still coloured."""
    from colorkit.video.io import VideoError, estimated_frames, probe
    from colorkit.video.pipeline import colorize_video
    from colorkit.video.stabilize import StabilizeParams

    params = StabilizeParams() if stabilize else None
    done = 0
    for src, dst in jobs:
        try:
            info = probe(src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with video_progress() as progress:
                task = progress.add_task(escape(printable(src.name)), total=estimated_frames(info), rate="-")

                def advance(n: int) -> None:
                    progress.advance(task, n)
                    speed = progress.tasks[0].speed
                    progress.update(task, rate=f"{speed:.1f}" if speed else "-")

                result = colorize_video(colorizer, src, dst, stabilize=params, batch_size=batch_size, on_frames=advance)
            err.print(
                f"{escape(printable(str(dst)))}: {result.frames} frames at {float(info.fps):.3g} fps, {info.width} x {info.height}, "
                f"audio {'copied' if info.audio else 'none'}, {'stabilised' if params else 'per frame'}"
                + (f", {len(result.cuts)} scene cut{'s' if len(result.cuts) > 1 else ''}" if result.cuts else "")
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
