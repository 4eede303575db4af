"""Train, resume, colorize and evaluate through the real CLI on generated photos."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab
from typer.testing import CliRunner

from colorkit.checkpoint import read_checkpoint
from colorkit.cli import create_app

runner = CliRunner()


def cli(*args):
    return runner.invoke(create_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from colorkit.testing import make_images, write_recipe

    root = tmp_path_factory.mktemp("e2e")
    photos = root / "photos"
    make_images(photos, count=10)
    recipe = write_recipe(root / "tiny.toml", photos, root / "runs")
    result = cli("run", recipe)
    assert result.exit_code == 0, result.output
    (run,) = (root / "runs").iterdir()
    return root, photos, run


def test_run_writes_a_self_describing_directory(trained):
    root, photos, run = trained
    names = {p.name for p in run.iterdir()}
    assert {"recipe.toml", "env.json", "metrics.jsonl", "checkpoints", "samples"} <= names
    assert "seed = 1" in (run / "recipe.toml").read_text()
    env = json.loads((run / "env.json").read_text())
    auto = "cuda" if torch.cuda.is_available() else "cpu"  # the recipe says device = "auto"
    assert env["device"].split(" (")[0] == auto and "colorkit.models" in env["plugins"] and env["torch"]
    records = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and "val_psnr" in r and "mse" in r["terms"] for r in records)
    assert {p.name for p in (run / "checkpoints").iterdir()} >= {"best.safetensors", "last.safetensors", "last.json"}
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch-0001.png", "epoch-0002.png"]
    grid = Image.open(run / "samples" / "epoch-0002.png")
    assert grid.width > 3 * 32  # gray | predicted | truth
    _, meta = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert meta["model"]["name"] == "cunet" and meta["state"]["epoch"] == 2


def test_a_second_run_never_overwrites_the_first(trained):
    root, _, run = trained
    result = cli("run", root / "tiny.toml", "--set", "train.epochs=1", "--set", "name=again")
    assert result.exit_code == 0, result.output
    assert len(list((root / "runs").iterdir())) == 2 and (run / "metrics.jsonl").exists()


def test_resume_continues_where_it_stopped(trained):
    root, _, run = trained
    result = cli("run", "--resume", run, "--set", "train.epochs=3")
    assert result.exit_code == 0, result.output
    records = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[2]["step"] > records[1]["step"]
    _, meta = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert meta["state"]["epoch"] == 3


def test_colorize_keeps_size_and_lightness_and_reports_bad_files(trained, tmp_path):
    root, photos, run = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    big = np.asarray(Image.open(next(photos.glob("*.png"))).convert("RGB").resize((97, 61)))
    Image.fromarray(big).save(inputs / "odd_size.png")
    Image.fromarray(big[..., 0]).save(inputs / "gray.png")
    (inputs / "broken.jpg").write_bytes(b"nope")
    result = cli("colorize", run, inputs, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "broken.jpg" in result.output and "coloured 2 of 3" in result.output
    out = np.asarray(Image.open(tmp_path / "out" / "odd_size.png"))
    assert out.shape == big.shape
    assert np.abs(rgb2lab(out)[..., 0] - rgb2lab(big)[..., 0]).mean() < 1.0
    assert (tmp_path / "out" / "gray.png").exists()
    single = cli("colorize", run, inputs / "odd_size.png", "-o", tmp_path / "one.jpg")
    assert single.exit_code == 0 and Image.open(tmp_path / "one.jpg").size == (97, 61)


def test_evaluate_reports_model_and_gray_baseline(trained, tmp_path):
    root, photos, run = trained
    target = tmp_path / "eval.json"
    result = cli("evaluate", run, "--data", photos, "--size", 32, "--json", target)
    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text())
    assert data["n"] == 10 and not data["failed"]
    gray = data["overall"]["gray (ab = 0)"]
    assert gray["colorfulness"] < 1.0 and data["overall"]["truth"]["colorfulness"] > 10
    assert set(data["overall"]["model"]) >= {"psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_gap"}
    assert "gray (ab = 0)" in result.output


def test_validate_and_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[train]\nepochs = 1\nlr = 0.1\n')
    result = cli("validate", bad)
    assert result.exit_code == 2 and "train.lr" in result.output and "Traceback" not in result.output
    result = cli("run", bad)
    assert result.exit_code == 2 and "unknown key 'train.lr'" in result.output
    result = cli("colorize", tmp_path / "nowhere", tmp_path, "-o", tmp_path / "o")
    assert result.exit_code == 2 and "no such checkpoint" in result.output


def test_plugins_command_lists_builtins_and_versions():
    result = cli("plugins", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["colorkit.models"]["registered"]["models"] == ["cunet", "unet", "smp_unet", "eccv16", "patchgan"]
    assert data["registries"]["losses"]["mse"]["plugin"] == "colorkit.losses"
    table = cli("plugins")
    assert table.exit_code == 0 and "cunet" in table.output and "built-in" in table.output
