"""``colorkit colorize`` with hints: ``--hints`` for one photo, hints files beside photos in a folder,
bad and orphan hints files, and a model without hint channels (tiny untrained models: plumbing, not quality)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from colorkit.cli.common import hint_models
from colorkit.hints.file import read_hints_file
from colorkit.inference.colorizer import Colorizer
from colorkit.testing import cli, save_tiny_checkpoint
from colorkit.zoo import DEFAULT_HINT_MODEL, DEFAULT_MODEL

BLUE = {"hints": [{"x": 30, "y": 20, "color": "#1f3a93", "radius": 6}, {"x": 5, "y": 35, "ab": [60.0, 50.0], "radius": 3}]}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return save_tiny_checkpoint(root / "hint.safetensors", hints={"sampler": "points"}), save_tiny_checkpoint(root / "plain.safetensors")


def photo(path, w=48, h=40, seed=0):
    rng = np.random.default_rng(seed)
    gray = (np.linspace(40, 220, w)[None, :] + rng.uniform(-20, 20, (h, w))).clip(0, 255).astype(np.uint8)
    Image.fromarray(np.stack([gray] * 3, -1)).save(path)
    return path


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def one_line_error(result, *parts):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for part in parts:
        assert part in " ".join(result.output.split()), result.output


def test_a_hints_file_colours_one_photo_as_the_api_does(tmp_path, models):
    src = photo(tmp_path / "p.png")
    (tmp_path / "p.json").write_text(json.dumps(BLUE))
    result = cli("colorize", models[0], src, "--hints", tmp_path / "p.json", "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 with hints" in text and f"with hints: {src} (2 hints from {tmp_path / 'p.json'})" in text
    colorizer = Colorizer.load(models[0], device="cpu")
    rgb = pixels(src)
    hinted, plain = colorizer.colorize(rgb, read_hints_file(tmp_path / "p.json", 48, 40)), colorizer.colorize(rgb)
    assert np.array_equal(pixels(tmp_path / "out.png"), hinted)
    changed = np.abs(hinted.astype(int) - plain).sum(-1)
    assert changed[20, 30] > 0 and changed[35, 5] > 0  # the colour moves where the hints are


def test_a_folder_uses_the_hints_beside_each_photo_and_lists_bad_and_orphan_files(tmp_path, models):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    good, bad, plain = photo(folder / "a.png"), photo(folder / "sub" / "b.png", seed=1), photo(folder / "c.png", seed=2)
    (folder / "a.hints.toml").write_text('units = "fraction"\n[[hints]]\nx = 0.6\ny = 0.5\ncolor = [200, 30, 40]\nradius = 0.2\n')
    (folder / "sub" / "b.hints.json").write_text('{"hints": [{"x": 480, "y": 1, "color": "#aa0000"}]}')
    (folder / "gone.hints.json").write_text('{"hints": []}')
    result = cli("colorize", models[0], folder, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "coloured 2 of 4 files" in text and "1 with hints" in text and f"with hints: {good} (1 hint from {folder / 'a.hints.toml'})" in text
    assert f"failed: {bad}: not coloured: {folder / 'sub' / 'b.hints.json'}: hints[0]: x = 480 is outside the image (pixels 0..47 of a 48x40 photo)" in text
    assert f"failed: {folder / 'gone.hints.json'}: a hints file for a photo named gone, but there is no such photo beside it" in text
    assert not (tmp_path / "out" / "sub" / "b.png").exists() and not (tmp_path / "out" / "gone.hints.json").exists()
    colorizer = Colorizer.load(models[0], device="cpu")
    assert np.array_equal(pixels(tmp_path / "out" / "a.png"), colorizer.colorize(pixels(good), read_hints_file(folder / "a.hints.toml", 48, 40)))
    assert np.array_equal(pixels(tmp_path / "out" / "c.png"), colorizer.colorize(pixels(plain)))


def test_a_model_without_hint_channels_refuses_hints_before_writing_anything(tmp_path, models):
    src = photo(tmp_path / "p.png")
    (tmp_path / "p.hints.json").write_text(json.dumps(BLUE))
    one_line_error(cli("colorize", models[1], src, "--hints", tmp_path / "p.hints.json", "-o", tmp_path / "out.png"),
                   "this model has no hint channels", f"cannot take --hints {tmp_path / 'p.hints.json'}",
                   "use a hint model (faces-hints")  # the installed hint models, by name
    assert "faces-scenes," not in hint_models() and "faces-scenes;" not in hint_models()  # no hint channels
    one_line_error(cli("colorize", models[1], tmp_path, "-o", tmp_path / "out"), "cannot follow the hints files beside 1 photo", "--no-hints")
    one_line_error(cli("colorize", DEFAULT_MODEL, src, "--hints", tmp_path / "p.hints.json", "-o", tmp_path / "out.png"),
                   f"{DEFAULT_MODEL}: this model has no hint channels")  # its name, not its file
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "out").exists()
    result = cli("colorize", models[1], tmp_path, "-o", tmp_path / "out", "--no-hints")
    assert result.exit_code == 0 and "coloured 1 of 1 files" in " ".join(result.output.split()) and "hints" not in result.output, result.output


def test_a_hints_file_takes_a_single_photo(tmp_path, models):
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png")
    (tmp_path / "h.json").write_text(json.dumps(BLUE))
    one_line_error(cli("colorize", models[0], a, b, "--hints", tmp_path / "h.json", "-o", tmp_path / "out"), "takes a single photo, not 2 inputs")
    one_line_error(cli("colorize", models[0], tmp_path, "--hints", tmp_path / "h.json", "-o", tmp_path / "out"), "not a folder")
    one_line_error(cli("colorize", models[0], a, "--hints", tmp_path / "none.json", "-o", tmp_path / "o.png"), "none.json: no such file")
    one_line_error(cli("colorize", models[0], a, "--hints", tmp_path / "h.json", "--no-hints", "-o", tmp_path / "o.png"), "choose one")


def test_a_bad_hints_file_for_one_photo_is_one_line_and_writes_nothing(tmp_path, models):
    src = photo(tmp_path / "p.png")
    (tmp_path / "h.json").write_text('{"hints": [{"x": 1, "y": 1, "color": "navy"}]}')
    one_line_error(cli("colorize", models[0], src, "--hints", tmp_path / "h.json", "-o", tmp_path / "o.png"),
                   f"{tmp_path / 'h.json'}: hints[0] key 'color': 'navy' is not a colour")
    assert not (tmp_path / "o.png").exists()


def test_pixels_are_those_of_the_upright_photo(tmp_path, models):
    src = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 48 wide and 40 high, shown 40 wide and 48 high
    Image.fromarray(np.full((40, 48, 3), 120, np.uint8)).save(src, exif=exif)
    (tmp_path / "turned.hints.json").write_text('{"hints": [{"x": 45, "y": 45, "ab": [10, 10]}]}')
    result = cli("colorize", models[0], tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "pixels 0..39 of a 40x48 photo" in " ".join(result.output.split()), result.output


def test_a_sixteen_bit_scan_keeps_its_hints(tmp_path, models):
    gray = np.tile(np.linspace(5000, 60000, 48), (40, 1)).astype(np.uint16)
    src = tmp_path / "scan.png"
    Image.fromarray(gray).save(src)
    (tmp_path / "scan.hints.json").write_text(json.dumps(BLUE))
    assert cli("colorize", models[0], src, "-o", tmp_path / "hinted.png").exit_code == 0
    assert cli("colorize", models[0], src, "--no-hints", "-o", tmp_path / "plain.png").exit_code == 0
    assert (tmp_path / "hinted.png").read_bytes()[24] == 16  # the PNG header's bit depth: the 16-bit path ran
    hinted, plain = ((tmp_path / n).read_bytes() for n in ("hinted.png", "plain.png"))
    assert hinted != plain


@pytest.mark.parametrize("given", ["--hints", "beside"])
def test_with_no_model_named_hints_choose_the_default_hint_model(tmp_path, given):
    src = photo(tmp_path / "p.png")
    hints = tmp_path / ("h.json" if given == "--hints" else "p.hints.json")
    hints.write_text(json.dumps(BLUE))
    inputs = [src, "--hints", hints] if given == "--hints" else [tmp_path]
    result = cli("colorize", *inputs, "-o", tmp_path / "out" / "p.png" if given == "--hints" else tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"no model named: colouring with {DEFAULT_HINT_MODEL}" in " ".join(result.output.split())
    expected = Colorizer.load(DEFAULT_HINT_MODEL).colorize(pixels(src), read_hints_file(hints, 48, 40))
    assert np.array_equal(pixels(tmp_path / "out" / "p.png"), expected)
    plain = cli("colorize", src, "--no-hints", "-o", tmp_path / "plain.png")  # no hints: the default model, no note
    assert plain.exit_code == 0 and "note" not in plain.output, plain.output
    assert np.array_equal(pixels(tmp_path / "plain.png"), Colorizer.load(DEFAULT_MODEL).colorize(pixels(src)))
