"""``colorkit evaluate --video``: flicker and PSNR of a clip coloured with and without stabilisation."""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from colorkit.cli.colorize_video import video_progress
from colorkit.cli.common import out, print_json
from colorkit.cli.evaluate import save_results
from colorkit.video import require

ROWS = ("per-frame", "stabilised", "truth")


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "inf" if math.isinf(value) else f"{value:.2f}"


def video_table(title: str, flicker: dict, psnr: dict | None) -> Table:
    table = Table(title=title)
    table.add_column("colouring")
    table.add_column("flicker (ab, LAB units)", justify="right")
    table.add_column("PSNR (dB)", justify="right")
    for row in ROWS:
        if row in flicker or (psnr and row in psnr):
            table.add_row(row, _fmt(flicker.get(row)), "inf" if row == "truth" and psnr else _fmt((psnr or {}).get(row)))
    return table


def evaluate_video_command(colorizer, video: Path, target: Path | None, to_stdout: bool) -> None:
    """Measure ``video``; print the results as JSON (``to_stdout``), or a table and write them to
    ``target`` (already checked; None writes nothing)."""
    require()
    from colorkit.video.io import estimated_frames, probe
    from colorkit.video.pipeline import evaluate_video

    info = probe(video)
    with video_progress() as progress:
        task = progress.add_task("evaluating", total=estimated_frames(info), rate="-")

        def advance(n: int) -> None:
            progress.advance(task, n)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:.1f}" if speed else "-")

        result = evaluate_video(colorizer, video, on_frames=advance)
    record = dict(result.to_json(), checkpoint=colorizer.source, video=str(video), network_size=colorizer.size,
                  width=info.width, height=info.height, fps=float(info.fps))
    if to_stdout:
        print_json(record)
        return
    truth = "colour original: the clip itself" if result.has_truth else "no colour original (a gray clip): flicker only"
    out.print(video_table(f"{video.name}: {result.frames} frames, {len(result.cuts)} cuts; {truth}", result.flicker, result.psnr))
    save_results(target, record)
