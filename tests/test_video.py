"""Video (issue 7): round trip through PyAV, streaming, temporal stabilisation, scene cuts, the flicker
metric and ``colorkit evaluate --video``. Clips are a few frames at 64-96 px, made in code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from colorkit.cli import create_app  # noqa: E402
from colorkit.inference.colorizer import Colorizer  # noqa: E402
from colorkit.video.flicker import FlickerMeter, video_flicker  # noqa: E402
from colorkit.video.io import count_frames, probe, read_frames, transcode, write_clip  # noqa: E402
from colorkit.video.pipeline import colour_batch, evaluate_frames  # noqa: E402
from colorkit.video.stabilize import StabilizeParams, Stabilizer  # noqa: E402
from colorkit.video.synthetic import demo_clip, demo_shots  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny CU-net trained for two short epochs (seconds)."""
    from colorkit.training.trainer import start_run
    from colorkit.recipe import load_recipe
    from colorkit.testing import make_images, write_recipe

    root = tmp_path_factory.mktemp("video_run")
    make_images(root / "photos", count=8, size=48)
    recipe = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    return Path(start_run(load_recipe(recipe), source=str(recipe)).run().run_dir)


@pytest.fixture(scope="module")
def colorizer(checkpoint) -> Colorizer:
    return Colorizer.load(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    return demo_clip("pan", 8, (96, 64))


@pytest.mark.parametrize("ext,size", [("mp4", (96, 64)), ("mkv", (65, 49)), ("mov", (64, 48)), ("avi", (64, 48))])
def test_video_round_trip_keeps_frames_size_fps_and_audio(tmp_path, checkpoint, ext, size):
    frames = demo_clip("pan", 6, size)
    src = write_clip(tmp_path / f"clip.{ext}", frames, fps=24)
    dst = tmp_path / f"out.{ext}"
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(src), "-o", str(dst)])
    assert res.exit_code == 0, res.output
    a, b = probe(src), probe(dst)
    assert (b.width, b.height) == size == (a.width, a.height)
    assert b.fps == a.fps == 24
    assert count_frames(dst) == count_frames(src) == 6
    assert b.audio == a.audio and b.audio  # copied as is: same codec, present
    assert not list(tmp_path.glob(".*partial*"))
    coloured = next(iter(read_frames(dst)))
    assert coloured.shape == (size[1], size[0], 3)


def test_no_stabilize_and_several_videos_into_a_folder(tmp_path, checkpoint):
    clip = write_clip(tmp_path / "a.mp4", demo_clip("zoom", 4, (64, 48)), audio_hz=None)
    clip2 = write_clip(tmp_path / "b.mkv", demo_clip("zoom", 3, (64, 48)))
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(clip), str(clip2), "-o", str(tmp_path / "out"), "--no-stabilize"])
    assert res.exit_code == 0, res.output
    assert count_frames(tmp_path / "out" / "a.mp4") == 4 and count_frames(tmp_path / "out" / "b.mkv") == 3
    assert probe(tmp_path / "out" / "a.mp4").audio == []


def test_unreadable_video_is_listed_and_the_rest_are_coloured(tmp_path, checkpoint):
    good = write_clip(tmp_path / "good.mp4", demo_clip("pan", 3, (64, 48)))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(good), str(bad), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "bad.mp4" in res.output and "Traceback" not in res.output
    assert count_frames(tmp_path / "out" / "good.mp4") == 3


def test_frames_stream_in_batches(tmp_path, pan):
    src = write_clip(tmp_path / "clip.mkv", pan, audio_hz=None)
    seen = []

    def process(batch):
        seen.append(len(batch))
        return batch

    res = transcode(src, tmp_path / "copy.mkv", process, batch_size=3)
    assert res.frames == len(pan) and max(seen) <= 3 and sum(seen) == len(pan)
    assert not isinstance(read_frames(src), list)  # a generator: one frame at a time


def test_missing_video_extra_is_one_clear_line(tmp_path, checkpoint, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "av" else real(name, *a))
    clip = tmp_path / "x.mp4"
    clip.write_bytes(b"0")
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(clip), "-o", str(tmp_path / "y.mp4")])
    assert res.exit_code == 2
    assert "install colorkit[video]" in res.output and "Traceback" not in res.output


def test_stabilisation_lowers_flicker_on_the_generated_pan(colorizer, pan):
    res = evaluate_frames(colorizer, pan)
    assert res.has_truth and res.cuts == []
    assert res.flicker["stabilised"] < 0.9 * res.flicker["per-frame"], res.flicker
    assert res.psnr["stabilised"] > res.psnr["per-frame"] - 0.5  # steadier without drifting from the truth


def test_scene_cut_is_found_and_resets_the_stabiliser(colorizer):
    frames = demo_clip("pan_cut", 8, (96, 64))
    stab = Stabilizer()
    out = colour_batch(colorizer, frames, stab)
    assert stab.cut_frames == [4]
    assert stab.mean_weight[4] == 0.0 and min(stab.mean_weight[1:4]) > 0
    assert np.array_equal(out["stabilised"][4], out["per-frame"][4])  # the new shot starts from its own prediction


def test_stabiliser_keeps_a_steady_colour_and_follows_motion():
    h, w = 48, 64
    L = np.tile(np.linspace(20, 80, w, dtype=np.float32), (h, 1))
    rng = np.random.default_rng(0)
    stab = Stabilizer(StabilizeParams(strength=0.8))
    outs = [stab.step(L, np.full((h, w, 2), 20, np.float32) + rng.normal(0, 5, (h, w, 2)).astype(np.float32)) for _ in range(12)]
    raw_noise, steady_noise = 5.0, float(np.std(outs[-1] - 20))
    assert steady_noise < 0.6 * raw_noise


def test_flicker_metric():
    still = demo_clip("pan", 2, (96, 64))[:1] * 5
    assert video_flicker(still) < 0.01  # the flow of identical frames is ~0
    pan = demo_clip("pan", 6, (96, 64))
    assert video_flicker(pan) < 1.5  # motion is compensated: a real colour clip barely changes
    blink = [f if i % 2 else np.clip(f.astype(int) + [12, 0, -12], 0, 255).astype(np.uint8) for i, f in enumerate(still)]
    assert video_flicker(blink) > 5
    meter = FlickerMeter()
    for f in pan:
        meter.add({"a": f, "b": f})
    assert meter.result()["a"] == meter.result()["b"]


def test_demo_clips_are_made_from_real_photos():
    shots = demo_shots(10)
    assert set(shots) == {"pan", "zoom", "pan_cut"} and len(shots["pan_cut"]) == 2
    frames = demo_clip("zoom", 3, (64, 48))
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3) and not np.array_equal(frames[0], frames[2])


def test_evaluate_video_json_with_and_without_a_colour_original(tmp_path, checkpoint):
    clip = write_clip(tmp_path / "clip.mkv", demo_clip("pan", 5, (64, 48)), lossless=True)
    res = runner.invoke(create_app(), ["evaluate", str(checkpoint), "--video", str(clip), "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["frames"] == 5 and data["has_truth"]
    assert set(data["flicker"]) == {"per-frame", "stabilised", "truth"}
    assert len(data["psnr_per_frame"]["stabilised"]) == 5 and data["psnr"]["per-frame"] > 5
    gray = write_clip(tmp_path / "gray.mkv", [np.repeat(f.mean(2, keepdims=True).astype(np.uint8), 3, 2) for f in demo_clip("pan", 4, (64, 48))], lossless=True)
    res = runner.invoke(create_app(), ["evaluate", str(checkpoint), "--video", str(gray), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert not data["has_truth"] and data["psnr"] is None and "truth" not in data["flicker"]


def test_evaluate_needs_data_or_video(checkpoint):
    res = runner.invoke(create_app(), ["evaluate", str(checkpoint)])
    assert res.exit_code == 2 and "--video" in res.output
