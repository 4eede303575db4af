"""Colour a video file, and measure flicker and PSNR of a colourised clip beside its colour original.

Both stream: a few frames are decoded, coloured and written (or scored) at a time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from colorkit.video import require
from colorkit.video.hints import HintCarrier
from colorkit.video.stabilize import StabilizeParams, Stabilizer


def colour_batch(colorizer, frames: list[np.ndarray], stabilizer: Stabilizer | None, *, plain: bool = True,
                 carrier: HintCarrier | None = None) -> dict[str, list[np.ndarray]]:
    """Colour consecutive ``frames``: ``{"per-frame": [...]}`` (unless ``plain=False``), and
    ``"stabilised"`` with a stabiliser (which carries its state from batch to batch). One network pass
    serves both. With ``carrier`` (it needs the stabiliser, whose flow moves the hints) each frame is
    coloured with its hints (:mod:`colorkit.video.hints`)."""
    from colorkit.video.flow import lightness

    if carrier is not None and stabilizer is None:
        raise ValueError("carrying hints needs a stabiliser (its tracker's flow moves them)")
    small = [colorizer.network_input(f) for f in frames]
    need_flow = carrier is not None or (stabilizer is not None and stabilizer.params.strength > 0)
    motions = [stabilizer.tracker.track(lightness(s), flow=need_flow) for s in small] if stabilizer is not None else []
    hints = [carrier.step(m) for m in motions] if carrier is not None else None
    ab = colorizer.predict_many(small, hints)
    out: dict[str, list[np.ndarray]] = {}
    if plain or stabilizer is None:
        out["per-frame"] = [colorizer.join(f, ab[i : i + 1]) for i, f in enumerate(frames)]
    if stabilizer is not None:
        steady = []
        for i, f in enumerate(frames):
            a = stabilizer.blend(motions[i], ab[i].permute(1, 2, 0).float().cpu().numpy())
            steady.append(colorizer.join(f, torch.from_numpy(a).permute(2, 0, 1)[None].to(colorizer.device)))
        out["stabilised"] = steady
    return out


@dataclass
class VideoColourResult:
    src: str
    dst: str
    frames: int
    audio_packets: int
    seconds: float
    stabilised: bool
    cuts: list[int] = field(default_factory=list)


def colorize_video(
    colorizer,
    src: str | Path,
    dst: str | Path,
    *,
    stabilize: StabilizeParams | None = StabilizeParams(),
    hints: HintCarrier | None = None,
    batch_size: int = 8,
    on_frames: Callable[[int], None] | None = None,
) -> VideoColourResult:
    """Write ``dst``: ``src`` coloured frame by frame (stabilised unless ``stabilize=None``), same
    frame rate, size, frame count and timestamps, audio copied as is.

    ``hints``: the video's hints on their keyframes, carried along the motion until the next cut (also
    with ``stabilize=None``: the flow still moves them). Refused before anything is written when the
    model has no hint channels, or when a keyframe lies past the end: from the header's frame count
    where it has one, else once every frame is decoded (``dst`` is then not written)."""
    require()
    from colorkit.video.io import probe, transcode

    if hints:
        colorizer.check_hints(hints.hints)  # before the output is opened
        header_frames = probe(src).frames
        if header_frames:
            hints.check_length(header_frames, str(src))
        stabilizer = Stabilizer(stabilize or StabilizeParams(strength=0.0))
    else:
        stabilizer = Stabilizer(stabilize) if stabilize is not None else None
    key = "stabilised" if stabilizer is not None else "per-frame"
    start = time.perf_counter()

    def process(frames: list[np.ndarray]) -> list[np.ndarray]:
        return colour_batch(colorizer, frames, stabilizer, plain=False, carrier=hints)[key]

    def check(frames: int) -> None:
        if hints:
            hints.check_length(frames, str(src))

    res = transcode(src, dst, process, batch_size=batch_size, on_frames=on_frames, before_commit=check)
    return VideoColourResult(str(src), str(dst), res.frames, res.audio_packets, time.perf_counter() - start,
                             stabilize is not None, stabilizer.cut_frames if stabilizer else [])


@dataclass
class VideoEvalResult:
    """Flicker (LAB units, lower is steadier) and PSNR (dB, against the colour original) per version."""

    frames: int
    flicker: dict[str, float]
    psnr: dict[str, float] | None
    psnr_per_frame: dict[str, list[float]] | None
    cuts: list[int]
    has_truth: bool
    params: dict

    def to_json(self) -> dict:
        return {
            "frames": self.frames, "flicker": self.flicker, "psnr": self.psnr, "psnr_per_frame": self.psnr_per_frame,
            "cuts": self.cuts, "has_truth": self.has_truth, "stabilize": self.params,
        }


def evaluate_frames(
    colorizer,
    frames: Iterable[np.ndarray],
    *,
    stabilize: StabilizeParams = StabilizeParams(),
    truth: bool | None = None,
    batch_size: int = 8,
    on_frames: Callable[[int], None] | None = None,
) -> VideoEvalResult:
    """Colour ``frames`` with and without stabilisation and measure both.

    The frames are the colorizer's input (it sees only their L). When they are in colour (``truth``
    None: decided from the first frame) they are also the truth: per-frame PSNR is measured against
    them and their own flicker is reported as ``"truth"``, the floor a perfect colouring would reach.
    """
    from colorkit.data.tone import classify
    from colorkit.metrics import psnr
    from colorkit.video.flicker import FlickerMeter

    meter = FlickerMeter(cut_threshold=stabilize.cut_threshold)
    stabilizer = Stabilizer(stabilize)
    psnrs: dict[str, list[float]] = {"per-frame": [], "stabilised": []}
    n = 0
    batch: list[np.ndarray] = []

    def flush() -> None:
        nonlocal n
        if not batch:
            return
        versions = colour_batch(colorizer, batch, stabilizer)
        for i, src in enumerate(batch):
            frame_versions = {name: v[i] for name, v in versions.items()}
            if truth:
                frame_versions["truth"] = src
                for name in psnrs:
                    psnrs[name].append(psnr(frame_versions[name], src))
            meter.add(frame_versions, reference=src)
        n += len(batch)
        if on_frames:
            on_frames(len(batch))
        batch.clear()

    for frame in frames:
        if truth is None:
            truth = classify(frame).kind == "colour"
        batch.append(frame)
        if len(batch) >= batch_size:
            flush()
    flush()
    flicker = meter.result()
    mean_psnr = {k: _finite_mean(v) for k, v in psnrs.items()} if truth else None
    return VideoEvalResult(n, flicker, mean_psnr, psnrs if truth else None, meter.cuts, bool(truth), stabilize.as_dict())


def _finite_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("inf") if values else float("nan")


def evaluate_video(colorizer, path: str | Path, *, stabilize: StabilizeParams = StabilizeParams(), batch_size: int = 8,
                   on_frames: Callable[[int], None] | None = None) -> VideoEvalResult:
    """:func:`evaluate_frames` on a video file, streamed."""
    require()
    from colorkit.video.io import read_frames

    return evaluate_frames(colorizer, read_frames(path), stabilize=stabilize, batch_size=batch_size, on_frames=on_frames)
