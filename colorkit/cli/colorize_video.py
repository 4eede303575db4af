"""``colorkit colorize`` for videos: streamed frame by frame, with a progress bar in frames/s and ETA."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from colorkit.cli.common import err, out, report_failures
from colorkit.data.images import printable
from colorkit.errors import ColorkitError
from colorkit.video import is_video_name, require


def video_progress() -> Progress:
    """A Rich progress bar on stderr: bar, frames done of total, frames/s, time left."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]} frames/s"), TimeRemainingColumn(), console=err, transient=True,
    )


def _jobs(inputs: list[Path], output: Path) -> list[tuple[Path, Path]]:
    photos = [p for p in inputs if not is_video_name(p)]
    if photos:
        raise ColorkitError(f"{photos[0]}: colour videos and photos in separate commands (this one has both)")
    if len(inputs) == 1 and is_video_name(output) and not output.is_dir():
        return [(inputs[0], output)]
    if output.exists() and not output.is_dir():
        raise ColorkitError(f"-o {output}: exists and is not a folder (several inputs need an output folder)")
    if is_video_name(output):
        raise ColorkitError(f"-o {output}: several videos need an output folder, not a video file name")
    return [(src, output / src.name) for src in inputs]


def colour_videos(colorizer, inputs: list[Path], output: Path, *, stabilize: bool = True, batch_size: int = 8) -> None:
    """Colour each video into ``output`` (a file for one video, else a folder); a video that cannot be
    read or written is listed at the end (exit status 1), the others are still coloured."""
    require()
    from colorkit.video.io import VideoError, estimated_frames, probe
    from colorkit.video.pipeline import colorize_video
    from colorkit.video.stabilize import StabilizeParams

    params = StabilizeParams() if stabilize else None
    failed: list[str] = []
    done = 0
    for src, dst in _jobs(inputs, output):
        if dst.resolve() == src.resolve():
            failed.append(f"{src}: the output would overwrite the input; choose another -o")
            continue
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
