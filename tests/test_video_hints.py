"""Colour hints in video (issue 15): hints on a keyframe carry along the flow until the next cut, the
CLI's ``--hints`` for a video, its errors, and the hold benchmark's plumbing. Tiny untrained models,
clips of a few frames made in code."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from colorkit.cli import create_app  # noqa: E402
from colorkit.errors import ColorkitError  # noqa: E402
from colorkit.hints import Hint  # noqa: E402
from colorkit.inference.colorizer import Colorizer  # noqa: E402
from colorkit.testing import save_tiny_checkpoint  # noqa: E402
from colorkit.video.flow import lightness  # noqa: E402
from colorkit.video.hints import HintCarrier  # noqa: E402
from colorkit.video.io import VideoError, count_frames, probe, read_frames, write_clip  # noqa: E402
from colorkit.video.pipeline import colour_batch, colorize_video  # noqa: E402
from colorkit.video.stabilize import Motion, Stabilizer, Tracker  # noqa: E402
from colorkit.video.synthetic import Shot, demo_clip, render, sample_photos_rgb  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("hint_model") / "hints.safetensors", hints={"sampler": "points"})


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("plain_model") / "plain.safetensors")


def pan_frames(n: int, size: int, dx: float, zoom: float = 1.6) -> list[np.ndarray]:
    """A pan over the astronaut: the content moves left by ``zoom * dx`` of the width per frame."""
    return list(render([Shot("astronaut", n, (0.40, 0.40, zoom), (0.40 + dx * (n - 1), 0.40, zoom))], sample_photos_rgb(), (size, size)))


def carry(frames: list[np.ndarray], hints: list[Hint]) -> tuple[list[list[Hint]], HintCarrier]:
    tracker, carrier = Tracker(), HintCarrier(hints)
    return [carrier.step(tracker.track(lightness(f))) for f in frames], carrier


def test_a_hint_moves_with_a_known_pan_and_ends_when_it_leaves_the_frame():
    n, zoom, dx = 10, 1.6, 0.01  # the content moves 0.016 of the width left per frame
    hints = [Hint(x, y, (20.0, -10.0), frame=0) for x in (0.3, 0.7) for y in (0.3, 0.7)] + [Hint(0.04, 0.5, (5.0, 5.0), frame=0)]
    per_frame, carrier = carry(pan_frames(n, 64, dx, zoom), hints)
    shift = zoom * dx
    for t, active in enumerate(per_frame):
        inside = [h for h in hints if h.x - shift * t >= 0.5 / 64]
        assert len(active) == len(inside), (t, active)
        for h, moved in zip(inside, active):
            assert moved.x == pytest.approx(h.x - shift * t, abs=0.5 / 64)  # within half a network pixel
            assert moved.y == pytest.approx(h.y, abs=0.5 / 64)
            assert (moved.ab, moved.radius, moved.frame) == (h.ab, h.radius, 0)  # the colour stays
    assert carrier.counts[0] == 5 and carrier.counts[-1] == 4  # the one near the left edge left the frame


def test_hints_end_at_a_cut_and_a_later_keyframe_adds_or_replaces():
    frames = demo_clip("pan_cut", 8, (64, 64))  # the cut is at frame 4
    old = Hint(0.5, 0.5, (30.0, 0.0), frame=0)
    other = Hint(0.2, 0.8, (0.0, 30.0), frame=0)
    moved = carry(frames, [old])[0][2][0]  # where `old` is on frame 2
    near = Hint(moved.x + 0.03, moved.y - 0.02, (-30.0, 0.0), frame=2)  # so this replaces it
    after = Hint(0.3, 0.3, (10.0, 10.0), frame=5)
    per_frame, _ = carry(frames, [old, other, near, after])
    assert [len(a) for a in per_frame] == [2, 2, 2, 2, 0, 1, 1, 1]
    assert {h.ab for h in per_frame[2]} == {other.ab, near.ab} and per_frame[2][-1] == near
    assert {h.ab for h in per_frame[3]} == {other.ab, near.ab}
    assert per_frame[5] == [after]


def test_a_hint_ends_where_the_flow_is_not_trusted():
    flow = np.zeros((32, 32, 2), np.float32)
    trust = np.ones((32, 32), np.float32)
    trust[:, 16:] = 0.0  # an occlusion on the right half
    carrier = HintCarrier([Hint(0.25, 0.5, (10.0, 0.0)), Hint(0.75, 0.5, (0.0, 10.0))])
    assert len(carrier.step(Motion(0, True))) == 2
    assert [h.x for h in carrier.step(Motion(1, False, flow, trust))] == [0.25]
    assert carrier.step(Motion(2, False)) == []  # nothing carries over (no flow)


def test_carried_hints_colour_the_frames_until_the_cut(hint_model):
    colorizer = Colorizer.load(hint_model, device="cpu")
    frames = demo_clip("pan_cut", 8, (96, 64))
    with_hints, without = Stabilizer(), Stabilizer()
    carrier = HintCarrier([Hint(0.5, 0.5, (60.0, -40.0), radius=0.1, frame=0)])
    a, b = [], []
    for start in range(0, 8, 3):  # batches of 3: state carries from batch to batch
        a += colour_batch(colorizer, frames[start : start + 3], with_hints, plain=False, carrier=carrier)["stabilised"]
        b += colour_batch(colorizer, frames[start : start + 3], without, plain=False)["stabilised"]
    assert with_hints.cut_frames == without.cut_frames == [4]
    assert carrier.counts == [1, 1, 1, 1, 0, 0, 0, 0]
    assert all(not np.array_equal(x, y) for x, y in zip(a[:4], b[:4]))
    assert all(np.array_equal(x, y) for x, y in zip(a[4:], b[4:]))  # after the cut: as if there never were hints


def test_keyframe_past_the_end_fails_before_the_output_is_written(tmp_path, hint_model):
    colorizer = Colorizer.load(hint_model, device="cpu")
    frames = demo_clip("pan", 4, (64, 48))
    for ext in ("mp4", "mkv"):  # mp4's header has the frame count (refused at once); mkv's does not (after decoding)
        src = write_clip(tmp_path / f"clip.{ext}", frames, audio_hz=None)
        assert probe(src).frames == (4 if ext == "mp4" else None)
        carrier = HintCarrier([Hint(0.5, 0.5, (10.0, 0.0), frame=0), Hint(0.5, 0.5, (10.0, 0.0), frame=4)], source="clip.hints.json")
        with pytest.raises(VideoError) as info:
            colorize_video(colorizer, src, tmp_path / f"out.{ext}", hints=carrier)
        assert str(info.value) == f"clip.hints.json: hints[1]: frame 4 is past the end of {src}, which has 4 frames (0 to 3)"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mp4", "clip.mkv"][: 1 + (ext == "mkv")])


def test_a_model_without_hint_channels_refuses_video_hints_before_writing(tmp_path, plain_model):
    colorizer = Colorizer.load(plain_model, device="cpu")
    src = write_clip(tmp_path / "clip.mkv", demo_clip("pan", 3, (64, 48)), audio_hz=None)
    with pytest.raises(ColorkitError, match="no hint channels"):
        colorize_video(colorizer, src, tmp_path / "out.mkv", hints=HintCarrier([Hint(0.5, 0.5, (10.0, 0.0), frame=1)]))
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mkv"]


def test_hints_carry_without_stabilisation_too(tmp_path, hint_model):
    colorizer = Colorizer.load(hint_model, device="cpu")
    src = write_clip(tmp_path / "clip.mkv", demo_clip("pan_cut", 6, (64, 48)), audio_hz=None)  # the cut is at frame 3
    carrier = HintCarrier([Hint(0.5, 0.5, (40.0, 0.0), radius=0.1, frame=0), Hint(0.5, 0.5, (0.0, 40.0), radius=0.1, frame=4)])
    result = colorize_video(colorizer, src, tmp_path / "out.mkv", stabilize=None, hints=carrier)
    assert not result.stabilised and result.cuts == [3]
    assert carrier.counts == [1, 1, 1, 0, 1, 1]
    assert count_frames(tmp_path / "out.mkv") == 6


def write_hints(path: Path, hints: list[dict]) -> Path:
    path.write_text(json.dumps({"units": "px", "hints": hints}))
    return path


def test_cli_colours_a_video_with_its_hints_file(tmp_path, hint_model):
    src = write_clip(tmp_path / "clip.mp4", demo_clip("pan", 6, (64, 48)))
    hints = write_hints(tmp_path / "clip.hints.json", [
        {"x": 30, "y": 20, "color": "#aa0000", "radius": 4, "frame": 0},
        {"x": 10, "y": 40, "ab": [-20, 40], "frame": 0},
        {"x": 50, "y": 10, "color": [0, 0, 200], "frame": 3},
    ])
    res = runner.invoke(create_app(), ["colorize", str(hint_model), str(src), "--hints", str(hints), "-o", str(tmp_path / "out.mp4")])
    assert res.exit_code == 0, res.output
    assert f"3 hints from {hints} on 2 keyframes, carried to 6 frames" in " ".join(res.output.split())
    assert count_frames(tmp_path / "out.mp4") == 6
    res = runner.invoke(create_app(), ["colorize", str(hint_model), str(src), "--no-hints", "-o", str(tmp_path / "plain.mp4")])
    assert res.exit_code == 0, res.output
    assert "hints" not in res.output
    with_hints, without = list(read_frames(tmp_path / "out.mp4")), list(read_frames(tmp_path / "plain.mp4"))
    assert all(not np.array_equal(a, b) for a, b in zip(with_hints, without))


def test_cli_picks_up_the_hints_file_beside_each_video(tmp_path, hint_model):
    a = write_clip(tmp_path / "a.mkv", demo_clip("zoom", 4, (64, 48)), audio_hz=None)
    b = write_clip(tmp_path / "b.mkv", demo_clip("pan", 3, (64, 48)), audio_hz=None)
    write_hints(tmp_path / "a.hints.json", [{"x": 30, "y": 20, "color": "#00aa00"}])  # no frame: frame 0
    write_hints(tmp_path / "b.hints.json", [{"x": 30, "y": 20, "color": "#00aa00", "frame": 7}])  # past b's end
    res = runner.invoke(create_app(), ["colorize", str(hint_model), str(a), str(b), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output
    text = " ".join(res.output.split())
    assert f"1 hint from {tmp_path / 'a.hints.json'} on 1 keyframe" in text
    assert f"{tmp_path / 'b.hints.json'}: hints[0]: frame 7 is past the end of {b}, which has 3 frames (0 to 2)" in text
    assert count_frames(tmp_path / "out" / "a.mkv") == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mkv"]


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_cli_keyframe_past_the_end_is_one_line_and_writes_nothing(tmp_path, hint_model, ext):
    src = write_clip(tmp_path / f"clip.{ext}", demo_clip("pan", 4, (64, 48)), audio_hz=None)
    hints = write_hints(tmp_path / "h.json", [{"x": 3, "y": 2, "color": "#aa0000", "frame": 0}, {"x": 3, "y": 2, "color": "#aa0000", "frame": 4}])
    res = runner.invoke(create_app(), ["colorize", str(hint_model), str(src), "--hints", str(hints), "-o", str(tmp_path / f"out.{ext}")])
    assert res.exit_code == 1, res.output  # mp4: refused from its header's frame count; mkv: once every frame is decoded
    assert f"{hints}: hints[1]: frame 4 is past the end of {src}, which has 4 frames (0 to 3)" in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, "h.json"])


def test_cli_a_model_without_hint_channels_refuses_a_video_hints_file(tmp_path, plain_model):
    src = write_clip(tmp_path / "clip.mp4", demo_clip("pan", 3, (64, 48)), audio_hz=None)
    hints = write_hints(tmp_path / "h.json", [{"x": 3, "y": 2, "color": "#aa0000"}])
    res = runner.invoke(create_app(), ["colorize", str(plain_model), str(src), "--hints", str(hints), "-o", str(tmp_path / "out.mp4")])
    assert res.exit_code == 2, res.output
    assert "no hint channels" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".*partial*"))


def test_hold_benchmark_runs_on_a_tiny_hint_model(tmp_path, hint_model):
    argv = sys.argv
    sys.argv = ["video_hint_hold.py", str(hint_model), "--frames", "6", "--width", "64", "--height", "48", "--hints", "3",
                "--every", "2", "--json", str(tmp_path / "hold.json")]
    try:
        runpy.run_path(str(Path(__file__).parents[1] / "benchmarks" / "video_hint_hold.py"), run_name="__main__")
    finally:
        sys.argv = argv
    report = json.loads((tmp_path / "hold.json").read_text())
    assert set(report["clips"]) == {"pan", "zoom", "pan_cut"}
    cut = report["clips"]["pan_cut"]
    assert cut["cuts"] == [3] and cut["hints_carried"][0] == 3 and cut["hints_carried"][3:] == [0, 0, 0]
    assert cut["psnr"]["hints"][3:] == cut["psnr"]["none"][3:]  # after the cut, as if there never were hints
    assert all(len(c["psnr"]["hints"]) == len(c["psnr"]["none"]) == 6 for c in report["clips"].values())
    assert all(len(c["hint_ab_error"]) == 6 for c in report["clips"].values())
    assert cut["hint_ab_error"][3:] == [None, None, None] and 0 <= cut["hint_ab_error"][0] < 5  # given on the truth of frame 0
