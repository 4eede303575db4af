"""Video files through PyAV: probe, stream frames, and transcode with the audio copied as is.

Frames stream: :func:`transcode` decodes, processes and encodes ``batch_size`` frames at a time, so
memory does not grow with the length of the video. Every video frame keeps its timestamp (so the
frame rate, constant or variable, and the frame count are kept) and its size. Audio streams are
remuxed packet by packet, never re-encoded. Subtitle and data streams are not copied.

Output codec by container: H.264 (libx264, CRF 18) for .mp4, .mov and .mkv; MPEG-4 part 2 (fixed quantiser 3)
for .avi. Odd widths or heights, which 4:2:0 chroma cannot hold, are written as 4:4:4 by H.264.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from colorkit.errors import ColorkitError
from colorkit.video import require


class VideoError(ColorkitError):
    """A video that cannot be read or written; the message names the file and the reason."""

    exit_code = 1

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class VideoInfo:
    """What a video file holds (from its header: ``frames`` is ``None`` where the header does not say)."""

    path: str
    width: int
    height: int
    fps: Fraction
    frames: int | None
    duration: float | None
    codec: str
    audio: list[str] = field(default_factory=list)


def _open(path: str | Path):
    require()
    import av

    path = Path(path)
    if path.is_dir():
        raise VideoError(path, "is a folder, not a video file")
    if not path.exists():
        raise VideoError(path, "no such file")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"cannot read as a video ({exc.strerror or exc})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "has no video stream")
    return container


def _info(path, container) -> VideoInfo:
    v = container.streams.video[0]
    fps = v.average_rate or v.guessed_rate or Fraction(25)
    duration = float(v.duration * v.time_base) if v.duration and v.time_base else (
        container.duration / 1e6 if container.duration else None
    )
    frames = int(v.frames) if v.frames else None
    return VideoInfo(
        str(path), v.codec_context.width, v.codec_context.height, Fraction(fps), frames, duration,
        v.codec_context.name, [a.codec_context.name for a in container.streams.audio],
    )


def probe(path: str | Path) -> VideoInfo:
    """Size, frame rate, frame count (when the header has it), duration, codecs of ``path``."""
    container = _open(path)
    try:
        return _info(path, container)
    finally:
        container.close()


def estimated_frames(info: VideoInfo) -> int | None:
    """The header's frame count, else duration x frame rate (for progress bars only)."""
    if info.frames:
        return info.frames
    return round(info.duration * float(info.fps)) if info.duration else None


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of the first video stream as ``(H, W, 3)`` uint8 RGB, one at a time."""
    import av

    container = _open(path)
    try:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"cannot decode: {exc.strerror or exc}") from None
    finally:
        container.close()


def count_frames(path: str | Path) -> int:
    """The number of frames, by decoding every packet (exact, unlike a header's count)."""
    container = _open(path)
    try:
        return sum(1 for _ in container.decode(video=0))
    finally:
        container.close()


def _video_codec(dst: Path, width: int, height: int) -> tuple[str, str, dict]:
    import av

    if dst.suffix.lower() == ".avi" or "libx264" not in av.codecs_available:
        return "mpeg4", "yuv420p", {"flags": "+qscale", "global_quality": str(3 * 118)}  # fixed quantiser 3
    pix = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    return "libx264", pix, {"crf": "18", "preset": "medium"}


def partial_path(dst: Path) -> Path:
    """Where a video is written before it is renamed into place (same folder, same extension)."""
    return dst.with_name(f".{dst.stem}.partial{dst.suffix}")


def _check_readable(tmp: Path, dst: Path, info: VideoInfo) -> None:
    """The finished file must open at the source's size and its first frame decode; else VideoError
    (and ``transcode`` removes it, so a video that does not read back is never renamed into place)."""
    import av

    try:
        with av.open(str(tmp)) as container:
            stream = container.streams.video[0]
            if (stream.codec_context.width, stream.codec_context.height) != (info.width, info.height):
                raise ValueError(f"{stream.codec_context.width} x {stream.codec_context.height} instead of {info.width} x {info.height}")
            if next(container.decode(video=0), None) is None:
                raise ValueError("no frame decodes")
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise VideoError(dst, f"the written file does not read back ({exc}); it was not kept") from None


@dataclass
class TranscodeResult:
    frames: int
    audio_packets: int
    info: VideoInfo


def transcode(
    src: str | Path,
    dst: str | Path,
    process: Callable[[list[np.ndarray]], Sequence[np.ndarray]],
    *,
    batch_size: int = 8,
    on_frames: Callable[[int], None] | None = None,
    before_commit: Callable[[int], None] | None = None,
) -> TranscodeResult:
    """Write ``dst``: every frame of ``src`` through ``process`` (a batch of RGB frames in, the same
    number of same-sized RGB frames out, in order), with every audio stream copied packet by packet.

    The file appears at ``dst`` only when complete (written beside it, then renamed) and read back.
    ``before_commit`` is called with the exact frame count once every frame is written, before the
    rename: an error it raises leaves nothing at ``dst``.
    """
    import av

    src, dst = Path(src), Path(dst)
    inp = _open(src)
    info = _info(src, inp)
    tmp = partial_path(dst)
    out = None
    try:
        try:
            out = av.open(str(tmp), "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError(dst, f"cannot write: {getattr(exc, 'strerror', None) or exc}") from None
        out.metadata.update({k: v for k, v in inp.metadata.items() if k.lower() not in ("encoder", "major_brand", "minor_version", "compatible_brands")})
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        codec, pix, options = _video_codec(dst, info.width, info.height)
        vout = out.add_stream(codec, rate=info.fps, options=options)
        vout.width, vout.height, vout.pix_fmt = info.width, info.height, pix
        tb = vin.time_base or Fraction(1, 1000)
        vout.codec_context.time_base = tb
        vout.time_base = tb
        audio = {}
        for a in inp.streams.audio:
            try:
                audio[a.index] = out.add_stream_from_template(a)
            except (av.error.FFmpegError, ValueError) as exc:
                raise VideoError(dst, f"cannot copy the {a.codec_context.name} audio into {dst.suffix} ({exc}); try .mkv") from None

        state = {"frames": 0, "audio": 0, "next_pts": 0}
        batch: list[tuple[np.ndarray, int | None]] = []

        def mux(packets) -> None:
            try:
                out.mux(packets)
            except av.error.FFmpegError as exc:
                raise VideoError(dst, f"cannot write: {exc.strerror or exc}") from None

        def flush() -> None:
            if not batch:
                return
            coloured = process([f for f, _ in batch])
            if len(coloured) != len(batch):
                raise ValueError(f"process returned {len(coloured)} frames for {len(batch)}")
            for (frame, pts), rgb in zip(batch, coloured):
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
                vf.pts, vf.time_base = pts, tb
                mux(vout.encode(vf))
            state["frames"] += len(batch)
            if on_frames:
                on_frames(len(batch))
            batch.clear()

        streams = [vin, *[a for a in inp.streams.audio]]
        try:
            for packet in inp.demux(streams):
                if packet.stream.index == vin.index:
                    for frame in packet.decode():
                        pts = frame.pts
                        if pts is None:  # a container without timestamps: frames are evenly spaced
                            pts = state["next_pts"]
                        state["next_pts"] = pts + max(1, round(1 / (float(info.fps) * float(tb))))
                        batch.append((frame.to_ndarray(format="rgb24"), pts))
                        if len(batch) >= batch_size:
                            flush()
                elif packet.dts is not None and packet.stream.index in audio:
                    packet.stream = audio[packet.stream.index]
                    mux(packet)
                    state["audio"] += 1
        except av.error.FFmpegError as exc:
            raise VideoError(src, f"cannot decode: {exc.strerror or exc}") from None
        flush()
        if before_commit:
            before_commit(state["frames"])
        mux(vout.encode(None))
        out.close()
        out = None
        _check_readable(tmp, dst, info)
        os.replace(tmp, dst)
    finally:
        inp.close()
        if out is not None:
            try:
                out.close()
            except Exception:  # noqa: BLE001 - a half-written file is removed below either way
                pass
        if tmp.exists():
            tmp.unlink()
    return TranscodeResult(state["frames"], state["audio"], info)


def write_clip(
    path: str | Path,
    frames: Sequence[np.ndarray] | Iterator[np.ndarray],
    *,
    fps: float | Fraction = 25,
    audio_hz: float | None = 440.0,
    sample_rate: int = 16000,
    lossless: bool = False,
) -> Path:
    """Write RGB ``frames`` as a video (codec chosen as in :func:`transcode`, or lossless FFV1/x264
    with ``lossless=True``) with a sine tone as its audio track (AAC; PCM in .avi), for tests and
    benchmarks. ``audio_hz=None`` writes no audio."""
    require()
    import av

    path = Path(path)
    fps = Fraction(fps).limit_denominator(1001)
    out = av.open(str(path), "w")
    try:
        vout = None
        aout = None
        n = 0
        for rgb in frames:
            h, w = rgb.shape[:2]
            if vout is None:
                codec, pix, options = _video_codec(path, w, h)
                if lossless:
                    codec, pix, options = ("ffv1", "yuv444p", {}) if path.suffix.lower() in (".mkv", ".avi") else ("libx264", "yuv444p", {"qp": "0"})
                vout = out.add_stream(codec, rate=fps, options=options)
                vout.width, vout.height, vout.pix_fmt = w, h, pix
                if audio_hz is not None:
                    aout = out.add_stream("pcm_s16le" if path.suffix.lower() == ".avi" else "aac", rate=sample_rate)
                    aout.layout = "mono"
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
            vf.pts = n
            vf.time_base = 1 / fps
            out.mux(vout.encode(vf))
            n += 1
        if vout is None:
            raise ValueError("write_clip: no frames")
        out.mux(vout.encode(None))
        if aout is not None:
            samples = int(round(n / float(fps) * sample_rate))
            t = np.arange(samples) / sample_rate
            tone = (0.3 * np.sin(2 * np.pi * audio_hz * t)).astype(np.float32)
            fmt = aout.codec_context.format.name
            data = (tone * 32767).astype(np.int16)[None] if fmt == "s16" else tone[None]
            af = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            af.sample_rate = sample_rate
            out.mux(aout.encode(af))
            out.mux(aout.encode(None))
    finally:
        out.close()
    return path
