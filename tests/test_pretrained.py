"""A trained run packed as a pretrained model: colour with its name, and fine-tune from it (model.init)."""

import json
import shutil
import tomllib

import numpy as np
import pytest
import torch
from PIL import Image

from colorkit.checkpoint import read_checkpoint
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import get_host
from colorkit.recipe import load_recipe
from colorkit.testing import cli, fake_plugin, make_images, write_recipe
from colorkit.zoo import read_card

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    photos = root / "photos"
    make_images(photos, count=10)
    result = cli("run", write_recipe(root / "tiny.toml", photos, root / "runs"))
    assert result.exit_code == 0, result.output
    (run,) = (root / "runs").iterdir()
    evaluation = root / "eval.json"
    result = cli("evaluate", run, "--data", photos, "--size", 32, "--json", evaluation)
    assert result.exit_code == 0, result.output
    return root, photos, run, evaluation


@pytest.fixture(scope="module")
def packed(trained):
    root, _, run, evaluation = trained
    result = cli(
        "models", "pack", run, "--name", "tiny-zoo", "-o", root / "zoo", "--summary", "a tiny test model",
        "--licence", "test data only", "--eval", f"photos={evaluation}", "--measured-with", "colorkit evaluate tiny-zoo ...",
        "--recipe", "tiny.toml",
    )
    assert result.exit_code == 0, result.output
    return root / "zoo" / "tiny-zoo.safetensors", root / "zoo" / "tiny-zoo.toml"


@pytest.fixture
def zoo(packed, installed_plugins):
    """The packed model registered by a fake plugin package (an entry point), in a fresh host."""
    weights, card_path = packed
    card = read_card(card_path).model_copy(update={"weights": read_card(card_path).weights.model_copy(update={"source": weights.as_uri()})})
    installed_plugins({"tiny-zoo-plugin": fake_plugin(colorkit_register_pretrained=lambda register: register(card.name, card))})
    return card


def test_pack_writes_half_precision_weights_and_a_card_from_the_run(trained, packed):
    _, _, run, _ = trained
    weights, card_path = packed
    card = read_card(card_path)
    tensors, meta = read_checkpoint(weights)
    assert all(t.dtype == torch.float16 for k, t in tensors.items() if t.is_floating_point())
    assert meta["pretrained"] == "tiny-zoo" and meta["precision"] == "float16" and meta["size"] == 32
    assert card.architecture == "cunet" and card.network_size == 32 and card.weights.bytes == weights.stat().st_size
    assert card.parameters == sum(t.numel() for k, t in tensors.items() if t.is_floating_point() and "running_" not in k)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = min(records, key=lambda r: r["val_total"])  # the packed checkpoint is the run's best
    assert card.training.images_seen == best["images"] > 0
    assert card.metrics["photos"]["model"]["psnr"] > 0 and "gray (ab = 0)" in card.metrics["photos"]
    assert card.recipe == "tiny.toml" and card.training.command == "colorkit run tiny.toml"


def test_half_precision_colours_like_the_original(trained, packed):
    _, photos, run, _ = trained
    rgb = np.asarray(Image.open(sorted(photos.glob("*.png"))[0]).convert("RGB"))
    full = Colorizer.load(run, fast=None).colorize(rgb).astype(int)
    half = Colorizer.load(packed[0], fast=None).colorize(rgb).astype(int)
    assert np.abs(full - half).max() <= 2


def test_colorize_and_evaluate_take_the_model_by_name(trained, zoo, tmp_path):
    _, photos, _, _ = trained
    photo = sorted(photos.glob("*.png"))[0]
    result = cli("colorize", "tiny-zoo", photo, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == Image.open(photo).size
    result = cli("colorize", "--model", "tiny-zoo", photos, "-o", tmp_path / "folder")
    assert result.exit_code == 0 and len(list((tmp_path / "folder").rglob("*.*"))) == 10, result.output
    result = cli("evaluate", "tiny-zoo", "--data", photos, "--size", 32, "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 10


def test_evaluating_a_model_by_name_writes_no_file_unasked(trained, zoo, tmp_path, monkeypatch):
    _, photos, _, _ = trained
    monkeypatch.chdir(tmp_path)  # a pretrained model has no run directory: nothing lands in the current folder
    result = cli("evaluate", "tiny-zoo", "--data", photos, "--size", 32, "--limit", 2)
    assert result.exit_code == 0, result.output
    assert "psnr" in result.output and "add --json FILE" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_model_name_lists_the_installed_ones(trained, zoo, tmp_path):
    _, photos, _, _ = trained
    result = cli("colorize", "--model", "tiny-zo", photos, "-o", tmp_path / "x")
    assert result.exit_code == 2 and "tiny-zo" in result.output and "Did you mean 'tiny-zoo'?" in result.output


def _finetune_recipe(root, photos, init, extra="", model_keys=""):
    path = write_recipe(root / "finetune.toml", photos, root / "ft-runs", extra=extra)
    text = path.read_text().replace('[model]\nname = "cunet"', f'[model]\nname = "cunet"\ninit = "{init}"\n{model_keys}')
    path.write_text(text)
    return path


def test_a_run_starts_from_a_pretrained_model(trained, zoo, tmp_path):
    from colorkit.training.trainer import start_run

    _, photos, _, _ = trained
    recipe = load_recipe(_finetune_recipe(tmp_path, photos, "tiny-zoo"))
    trainer = start_run(recipe, host=get_host())
    tensors, _ = read_checkpoint(zoo())
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value.float(), tensors[f"model.{key}"].float()), key
    assert 'init = "tiny-zoo"' in (trainer.run_dir / "recipe.toml").read_text()


def test_init_from_a_run_directory_is_recorded_as_an_absolute_path(trained, tmp_path, monkeypatch):
    from colorkit.training.trainer import start_run

    root, photos, run, _ = trained
    monkeypatch.chdir(run.parent)
    trainer = start_run(load_recipe(_finetune_recipe(tmp_path, photos, run.name)))
    assert tomllib.loads((trainer.run_dir / "recipe.toml").read_text())["model"]["init"] == str(run)


@pytest.mark.parametrize(
    "init,change,fragment",
    [
        ("RUN", ("width = 8", "width = 12"), "args.width 8 (recipe: 12)"),
        ("RUN", ('name = "mse"', 'name = "rebalanced_ce"'), "out_channels 2 (recipe: 313)"),
        ("NOT_A_CHECKPOINT", None, "not a readable safetensors checkpoint"),
        ("no-such-model", None, "no such checkpoint, run directory or pretrained model"),
    ],
)
def test_init_that_does_not_fit_is_one_line_before_any_run_directory(trained, tmp_path, init, change, fragment):
    root, photos, run, _ = trained
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    init = {"RUN": str(run), "NOT_A_CHECKPOINT": str(junk)}.get(init, init)
    path = _finetune_recipe(tmp_path, photos, init)
    if change:
        path.write_text(path.read_text().replace(*change))
    result = cli("run", path)
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "ft-runs").exists() or not any((tmp_path / "ft-runs").iterdir())
    result = cli("validate", path)
    assert result.exit_code == 2 and fragment in result.output, result.output


def _statistics(tensors: dict) -> dict:
    return {k: v for k, v in tensors.items() if k.endswith((".running_mean", ".running_var", ".num_batches_tracked"))}


@pytest.mark.parametrize("freeze", [True, False])
def test_freeze_norm_stats_keeps_the_starts_batch_norm_statistics_while_the_weights_learn(trained, tmp_path, freeze):
    _, photos, run, _ = trained
    path = _finetune_recipe(tmp_path, photos, run, model_keys=f"freeze_norm_stats = {str(freeze).lower()}")
    result = cli("run", path)
    assert result.exit_code == 0, result.output
    start, _ = read_checkpoint(run / "checkpoints" / "best.safetensors")
    stats = _statistics(start)
    (tuned_run,) = (tmp_path / "ft-runs").iterdir()
    for name in ("best", "last"):
        tuned, _ = read_checkpoint(tuned_run / "checkpoints" / f"{name}.safetensors")
        assert stats and all(torch.equal(tuned[k], v) for k, v in stats.items()) == freeze, name
        learned = [k for k in start if k not in stats and not torch.equal(tuned[k], start[k])]
        assert any(k.endswith("norm.weight") for k in learned) and any(k.endswith("conv.weight") for k in learned), learned[:5]


def test_a_fine_tune_scores_its_start_on_the_validation_photos_before_training(trained, tmp_path):
    """With the weights held still (frozen statistics, lr 1e-12) the first epoch must score what the
    start scored: so the start's score is that of the model.init weights, taken before any step."""
    _, photos, run, _ = trained
    path = _finetune_recipe(tmp_path, photos, run, model_keys="freeze_norm_stats = true")
    result = cli("run", path, "--set", "optim.lr=1e-12", "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    (tuned,) = (tmp_path / "ft-runs").iterdir()
    start = read_checkpoint(tuned / "checkpoints" / "last.safetensors")[1]["state"]["start_val"]
    first = json.loads((tuned / "metrics.jsonl").read_text().splitlines()[0])
    assert start["val_psnr"] == pytest.approx(first["val_psnr"], abs=1e-4) and start["val_total"] == pytest.approx(first["val_total"], abs=1e-6)
    assert f"model.init before training: val PSNR {start['val_psnr']:.2f} dB" in result.output
    assert "val PSNR before training" in result.output and (tuned / "samples" / "epoch-0000.png").is_file()
    assert f"1: val PSNR {first['val_psnr']:.2f} dB (best.safetensors)" in result.output  # one epoch: the best one
    shutil.rmtree(tmp_path / "ft-runs")
    result = cli("run", path, "--json")  # at the default lr the weights move, and the start stays what it was
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["start_val"]["val_psnr"] == pytest.approx(start["val_psnr"], abs=1e-6)
    assert summary["last"]["val_psnr"] != pytest.approx(start["val_psnr"], abs=1e-4)
    (tuned,) = (tmp_path / "ft-runs").iterdir()
    records = [json.loads(line) for line in (tuned / "metrics.jsonl").read_text().splitlines()]
    assert summary["best_epoch"] == min(records, key=lambda rec: rec["val_total"])["epoch"]
    assert read_checkpoint(run / "checkpoints" / "last.safetensors")[1]["state"]["start_val"] is None  # not a fine-tune


@pytest.mark.parametrize(
    "init,fragment",
    [
        (None, "model.freeze_norm_stats keeps the statistics of model.init's weights; set model.init"),
        ("INSTANCE_NORM_RUN", "(cunet) has no batch-norm layer, so there are no statistics to keep; drop the key"),
    ],
)
def test_freeze_norm_stats_without_statistics_to_keep_is_refused_in_one_line(trained, tmp_path, init, fragment):
    _, photos, _, _ = trained
    if init is None:
        path = write_recipe(tmp_path / "r.toml", photos, tmp_path / "ft-runs", extra="")
        path.write_text(path.read_text().replace('[model]\nname = "cunet"', '[model]\nname = "cunet"\nfreeze_norm_stats = true'))
    else:
        source = write_recipe(tmp_path / "inorm.toml", photos, tmp_path / "inorm-runs")
        source.write_text(source.read_text().replace("dilations = [1, 2]", 'dilations = [1, 2], norm = "instance"').replace("epochs = 2", "epochs = 1"))
        assert cli("run", source).exit_code == 0
        (init,) = (tmp_path / "inorm-runs").iterdir()
        path = _finetune_recipe(tmp_path, photos, init, model_keys="freeze_norm_stats = true")
        path.write_text(path.read_text().replace("dilations = [1, 2]", 'dilations = [1, 2], norm = "instance"'))
    for command in ("run", "validate"):
        result = cli(command, path)
        assert result.exit_code == 2 and fragment in result.output and "model.freeze_norm_stats" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "ft-runs").exists() or not any((tmp_path / "ft-runs").iterdir())


def test_evaluate_scores_a_constant_tint_beside_gray(trained, tmp_path):
    _, photos, run, _ = trained
    result = cli("evaluate", run, "--data", photos, "--size", 32, "--tint", "0,0", "--json", tmp_path / "t.json")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "t.json").read_text())["overall"]
    assert rows["tint (ab = 0, 0)"] == rows["gray (ab = 0)"]  # ab = 0 everywhere is the gray baseline
    result = cli("evaluate", run, "--data", photos, "--size", 32, "--tint", "12.8,15.5", "--json", tmp_path / "t2.json")
    tinted = json.loads((tmp_path / "t2.json").read_text())["overall"]["tint (ab = 12.8, 15.5)"]
    assert tinted["colorfulness"] > 0 and tinted["psnr"] != rows["gray (ab = 0)"]["psnr"]
    for bad in ("12.8", "a,b", "500,0"):
        result = cli("evaluate", run, "--data", photos, "--tint", bad, "--json", tmp_path / "t3.json")
        assert result.exit_code == 2 and "--tint" in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_a_card_counts_the_names_of_a_split_file_not_its_comments(tmp_path):
    from colorkit.training.pack import _data_uses

    (tmp_path / "group.txt").write_text("# the photos of one group: 2 of them\n\na.jpg\n  b.jpg  \n")
    recipe = {"data": {"sources": [{"folder": str(tmp_path / "faces" / "images"), "train_split": str(tmp_path / "group.txt")}]}}
    (use,) = _data_uses(recipe, "research only")
    assert use == {"name": "faces", "splits": "group (training)", "images": 2, "licence": "research only"}
