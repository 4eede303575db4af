"""Outputs never overwrite an input, a model or each other (issue 12), and links inside folders.

Every refusal is checked on the files themselves: the input, the checkpoint and the other outputs are
byte for byte as before, and a refusal of the only target comes before the model is loaded.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorkit.inference.colorizer import Colorizer
from colorkit.outputs import OutputConflict, Outputs, input_problem
from colorkit.testing import cli, save_tiny_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

PHOTO = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(PHOTO).save(path)
    return path


def snapshot(*roots: Path) -> dict[str, bytes]:
    """Every file under ``roots`` (links not followed) and its bytes."""
    files = {}
    for root in roots:
        for p in [root] if root.is_file() else sorted(root.rglob("*")):
            if p.is_file() and not p.is_symlink():
                files[str(p)] = p.read_bytes()
    return files


def one_line_refusal(result, *fragments) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run directory as training leaves it: checkpoints, recipe, metrics, a sample grid."""
    run = tmp_path_factory.mktemp("runs") / "tiny-20260101-000000"
    (run / "checkpoints").mkdir(parents=True)
    save_tiny_checkpoint(run / "checkpoints" / "best.safetensors")
    (run / "recipe.toml").write_text("name = 'tiny'\n")
    (run / "metrics.jsonl").write_text('{"epoch": 1}\n')
    photo(run / "samples" / "epoch_001.png")
    return run


@pytest.fixture
def loads(monkeypatch) -> list:
    """Calls of Colorizer.load (to show that a refusal comes before the model is loaded)."""
    calls = []
    real = Colorizer.load.__func__

    def load(cls, *args, **kwargs):
        calls.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "load", classmethod(load))
    return calls


# --- the contract itself ----------------------------------------------------------------------------


def test_paths_are_compared_as_files_symlinks_and_hard_links_included(tmp_path):
    src = photo(tmp_path / "in" / "a.png")
    (tmp_path / "link.png").symlink_to(src)
    os.link(src, tmp_path / "hard.png")
    (tmp_path / "alias").symlink_to(tmp_path / "in", target_is_directory=True)
    guard = Outputs().reads(src)
    for same in (src, tmp_path / "link.png", tmp_path / "hard.png", tmp_path / "alias" / "a.png", tmp_path / "in" / "." / "a.png"):
        assert "would overwrite the input" in guard.refusal(same)
    assert guard.refusal(tmp_path / "out" / "new.png", owner="x") is None
    assert "is also an output of x" in guard.refusal(tmp_path / "alias" / ".." / "out" / "new.png")  # not written yet: real paths
    with pytest.raises(OutputConflict, match="choose another -o"):
        guard.claim(tmp_path / "link.png")


def test_every_file_of_a_run_directory_is_protected_except_earlier_results(run_dir):
    guard = Outputs().reads_model(run_dir / "checkpoints" / "best.safetensors")
    for name in ("checkpoints/best.safetensors", "recipe.toml", "metrics.jsonl", "samples/epoch_001.png"):
        assert "a file of the run directory" in guard.refusal(run_dir / name) or "the model" in guard.refusal(run_dir / name)
    assert guard.refusal(run_dir / "evaluate-photos.json") is None  # written there by evaluate itself
    assert guard.refusal(run_dir / "coloured" / "a.png") is None


# --- colorize ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hard link"])
def test_colorize_never_overwrites_its_input_photo(tmp_path, run_dir, loads, how, monkeypatch):
    src = photo(tmp_path / "photo.png")
    target = {"same": src, "relative": Path("./photo.png"), "symlink": tmp_path / "link.png", "hard link": tmp_path / "hard.png"}[how]
    if how == "symlink":
        target.symlink_to(src)
    elif how == "hard link":
        os.link(src, target)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    one_line_refusal(cli("colorize", run_dir, src, "-o", target), f"{target} would overwrite the input {src}", "choose another -o")
    assert snapshot(tmp_path) == before and loads == []


def test_colorize_never_overwrites_a_file_of_the_run_directory(tmp_path, run_dir, loads):
    src = photo(tmp_path / "photo.png")
    before = snapshot(run_dir)
    target = run_dir / "samples" / "epoch_001.png"
    one_line_refusal(cli("colorize", run_dir, src, "-o", target), "a file of the run directory", "samples/epoch_001.png")
    one_line_refusal(cli("colorize", run_dir / "checkpoints" / "best.safetensors", src, "-o", target), "a file of the run directory")
    assert snapshot(run_dir) == before and loads == []


def test_side_by_side_never_overwrites_an_input(tmp_path, run_dir, loads):
    src = photo(tmp_path / "out_before_after.png")
    before = snapshot(tmp_path)
    one_line_refusal(cli("colorize", run_dir, src, "-o", tmp_path / "out.png", "--side-by-side"), "out_before_after.png would overwrite the input")
    assert snapshot(tmp_path) == before and loads == []


def test_a_folder_coloured_into_itself_is_refused_photo_by_photo(tmp_path, run_dir):
    photo(tmp_path / "in" / "a.png")
    photo(tmp_path / "in" / "sub" / "b.jpg")
    before = snapshot(tmp_path)
    result = cli("colorize", run_dir, tmp_path / "in", "-o", tmp_path / "in")
    assert result.exit_code == 1 and "coloured 0 of 2" in result.output, result.output
    assert result.output.count("would overwrite the input") == 2 and "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_an_output_folder_inside_the_input_folder_never_overwrites_an_input(tmp_path, run_dir):
    photo(tmp_path / "in" / "a.png")
    photo(tmp_path / "in" / "out" / "a.png")  # a result of an earlier run, now an input too
    before = snapshot(tmp_path / "in" / "a.png", tmp_path / "in" / "out" / "a.png")
    result = cli("colorize", run_dir, tmp_path / "in", "-o", tmp_path / "in" / "out")
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'in' / 'a.png'}: not coloured: {tmp_path / 'in' / 'out' / 'a.png'} would overwrite the input" in result.output
    assert snapshot(tmp_path / "in" / "a.png", tmp_path / "in" / "out" / "a.png") == before
    assert Image.open(tmp_path / "in" / "out" / "out" / "a.png").size == (40, 30)  # the other photo is coloured


def test_two_photos_never_go_to_one_file(tmp_path, run_dir):
    first, second = photo(tmp_path / "x" / "a.png"), photo(tmp_path / "y" / "a.png")
    result = cli("colorize", run_dir, first, second, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "coloured 1 of 2" in result.output, result.output
    assert f"{second}: not coloured: {tmp_path / 'out' / 'a.png'} is also an output of {first}" in result.output


def test_a_before_after_image_never_replaces_another_photos_result(tmp_path, run_dir):
    photo(tmp_path / "in" / "a.png")
    photo(tmp_path / "in" / "a_before_after.png")
    result = cli("colorize", run_dir, tmp_path / "in", "-o", tmp_path / "out", "--side-by-side")
    assert result.exit_code == 1 and "coloured 1 of 2" in result.output, result.output
    assert "a_before_after.png is also an output of" in result.output
    assert Image.open(tmp_path / "out" / "a_before_after.png").size == (2 * 40 + 8, 30)  # the side-by-side of a.png


def test_colorize_video_never_overwrites_its_input_or_another_video(tmp_path, run_dir, loads):
    pytest.importorskip("av")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not really a video")
    one_line_refusal(cli("colorize", run_dir, clip, "-o", clip), "clip.mp4 would overwrite the input")
    assert clip.read_bytes() == b"not really a video" and loads == []
    other = tmp_path / "b" / "clip.mp4"
    other.parent.mkdir()
    other.write_bytes(b"x")
    result = cli("colorize", run_dir, clip, other, "-o", tmp_path / "out")
    assert result.exit_code == 1 and f"{other}: not coloured: {tmp_path / 'out' / 'clip.mp4'} is also an output of {clip}" in result.output


# --- export, evaluate, segment, compare --------------------------------------------------------------


@pytest.mark.parametrize("name", ["checkpoints/best.safetensors", "recipe.toml", "metrics.jsonl"])
def test_export_never_overwrites_the_checkpoint_or_its_run(run_dir, loads, name):
    before = snapshot(run_dir)
    one_line_refusal(cli("export", run_dir, "-o", run_dir / name), f"{run_dir / name} would overwrite", "choose another -o")
    assert snapshot(run_dir) == before and loads == []


def test_evaluate_json_never_overwrites_a_photo_split_or_checkpoint(tmp_path, run_dir, loads):
    data = tmp_path / "data"
    photo(data / "a.png")
    photo(data / "b.png")
    split = tmp_path / "val.txt"
    split.write_text("a.png\nb.png\n")
    before = snapshot(tmp_path, run_dir)
    one_line_refusal(cli("evaluate", run_dir, "--data", data, "--json", data / "b.png"), "would overwrite the input", "choose another --json")
    one_line_refusal(cli("evaluate", run_dir, "--data", data, "--split", split, "--json", split), "would overwrite the input")
    one_line_refusal(cli("evaluate", run_dir, "--data", data, "--json", run_dir / "checkpoints" / "best.safetensors"), "run directory")
    assert snapshot(tmp_path, run_dir) == before and loads == []
    result = cli("evaluate", run_dir, "--data", data, "--size", 32)  # the default: evaluate-data.json in the run, refreshed
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "evaluate-data.json").read_text())["n"] == 2
    assert cli("evaluate", run_dir, "--data", data, "--size", 32).exit_code == 0


def test_evaluate_video_json_never_overwrites_the_clip(tmp_path, run_dir, loads):
    pytest.importorskip("av")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"clip")
    one_line_refusal(cli("evaluate", run_dir, "--video", clip, "--json", clip), "clip.mp4 would overwrite the input")
    assert clip.read_bytes() == b"clip" and loads == []


def test_segment_never_overwrites_an_input_or_another_overlay(tmp_path):
    photo(tmp_path / "in" / "a.png")
    photo(tmp_path / "in" / "a.jpg")  # both would become a.parts.png
    photo(tmp_path / "in" / "b.png")
    photo(tmp_path / "in" / "b.parts.png")  # an input that b's overlay would replace
    before = snapshot(tmp_path / "in" / "b.parts.png")
    result = cli("segment", tmp_path / "in", "-o", tmp_path / "in", "-p", "face_ellipse", "--size", 32)
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'in' / 'a.png'}: not segmented: {tmp_path / 'in' / 'a.parts.png'} is also an output of {tmp_path / 'in' / 'a.jpg'}" in result.output
    assert f"{tmp_path / 'in' / 'b.png'}: not segmented: {tmp_path / 'in' / 'b.parts.png'} would overwrite the input" in result.output
    assert snapshot(tmp_path / "in" / "b.parts.png") == before


def test_a_resumed_comparison_never_writes_its_report_over_a_held_out_photo(tmp_path):
    folder = tmp_path / "cmp"
    photo(folder / "grid.png")  # held-out photos kept, oddly, in the compare directory
    (folder / "compare.json").write_text(json.dumps({"name": "c", "command": "", "evaluate": {"data": str(folder)}, "variants": {}}))
    before = snapshot(folder)
    one_line_refusal(cli("compare", "--resume", folder), "grid.png would overwrite the input", "move that file out of the compare directory")
    assert snapshot(folder) == before


# --- links inside folders ---------------------------------------------------------------------------


def links_folder(root: Path) -> Path:
    """One good photo and three links that lead nowhere: to itself, to a missing file, a loop of two."""
    good = photo(root / "good.png")
    (root / "self.png").symlink_to(root / "self.png")
    (root / "gone.png").symlink_to(root / "missing.png")
    (root / "ping.png").symlink_to(root / "pong.png")
    (root / "pong.png").symlink_to(root / "ping.png")
    return good


def test_input_problem_names_loops_and_dangling_links(tmp_path):
    good = links_folder(tmp_path)
    assert input_problem(good) is None
    assert input_problem(tmp_path / "self.png") == f"{tmp_path / 'self.png'}: cannot read: a symbolic link loop (the link leads back to itself)"
    assert "a symbolic link loop" in input_problem(tmp_path / "ping.png")
    assert input_problem(tmp_path / "gone.png") == f"{tmp_path / 'gone.png'}: cannot read: a dangling symbolic link (its target {tmp_path / 'missing.png'} does not exist)"
    assert input_problem(tmp_path / "nothing.png") == f"{tmp_path / 'nothing.png'}: no such file or folder"


def test_colorize_a_folder_with_link_loops_and_dangling_links(tmp_path, run_dir):
    links_folder(tmp_path / "in")
    (tmp_path / "in" / "folder.png").symlink_to(tmp_path / "in", target_is_directory=True)  # a link to a folder: searched once
    result = cli("colorize", run_dir, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "coloured 1 of 6" in result.output  # good.png; the four links and the folder already searched
    for name in ("self.png", "ping.png", "pong.png"):
        assert f"{tmp_path / 'in' / name}: cannot read: a symbolic link loop" in result.output
    assert f"{tmp_path / 'in' / 'gone.png'}: cannot read: a dangling symbolic link" in result.output
    assert Image.open(tmp_path / "out" / "good.png").size == (40, 30)


def test_links_given_directly_and_to_segment(tmp_path, run_dir):
    root = tmp_path / "in"
    links_folder(root)
    result = cli("colorize", run_dir, root / "self.png", root / "gone.png", root / "good.png", "-o", tmp_path / "out")
    assert result.exit_code == 1 and "coloured 1 of 3" in result.output and "Traceback" not in result.output, result.output
    assert "a symbolic link loop" in result.output and "a dangling symbolic link" in result.output
    result = cli("segment", root, "-o", tmp_path / "seg", "-p", "face_ellipse", "--size", 32)
    assert result.exit_code == 1 and "segmented 1 of 5" in result.output and "a symbolic link loop" in result.output, result.output
