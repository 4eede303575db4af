"""Training a hint model: the [hints] recipe section, the trainer's hint channels, warm starts from a
model without them, and a hint sampler added by a plugin through colorkit_register_hint_samplers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from colorkit.build import LossSet
from colorkit.checkpoint import read_checkpoint
from colorkit.errors import RecipeError
from colorkit.hints import Hint
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import get_host
from colorkit.recipe import load_recipe, validate_file
from colorkit.testing import cli, fake_plugin, make_images, save_tiny_checkpoint, write_recipe
from colorkit.training.trainer import start_run

pytestmark = pytest.mark.usefixtures("one_thread")

QUIET = Console(quiet=True)
HINTS = '\n[hints]\nsampler = "points"\n\n[hints.args]\np_none = 0.25\nmax_patch = 3\n'


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hint-photos") / "photos"
    make_images(folder, count=12, size=32)
    return folder


def hint_recipe(tmp_path: Path, photos: Path, extra: str = HINTS, name: str = "tiny.toml") -> Path:
    return write_recipe(tmp_path / name, photos, tmp_path / "runs", extra=extra)


@pytest.fixture(scope="module")
def hint_run(tmp_path_factory, photos) -> Path:
    root = tmp_path_factory.mktemp("hint-run")
    result = cli("run", hint_recipe(root, photos))
    assert result.exit_code == 0, result.output
    assert "val PSNR with hints" in result.output  # the end summary of a hint run
    (run,) = (root / "runs").iterdir()
    return run


# --- the recipe section ---------------------------------------------------------------------------


def test_hints_section_is_optional_and_shaped_like_model(tmp_path, photos):
    assert load_recipe(hint_recipe(tmp_path, photos, extra="")).hints is None
    recipe = load_recipe(hint_recipe(tmp_path, photos))
    assert recipe.hints.sampler == "points" and recipe.hints.args == {"p_none": 0.25, "max_patch": 3}
    assert load_recipe(hint_recipe(tmp_path, photos, extra="\n[hints]\n")).hints.sampler == "points"  # the default


@pytest.mark.parametrize(
    "extra, message",
    [
        ('\n[hints]\nsampler = "strokes"\n', r"key 'hints.sampler': unknown hint sampler 'strokes'; valid: points"),
        ("\n[hints]\n[hints.args]\np_none = 2\n", r"key 'hints.args': points: hints.args.p_none: .*less than or equal to 1"),
        ("\n[hints]\n[hints.args]\nmax_patchs = 2\n", r"key 'hints.args.max_patchs': unknown option; valid: .*Did you mean 'max_patch'"),
        ("\n[hints]\np_none = 0.5\n", r"unknown key 'hints.p_none'; valid keys here: args, sampler, spread"),
    ],
)
def test_validate_names_the_bad_hints_key(tmp_path, photos, extra, message):
    path = hint_recipe(tmp_path, photos, extra=extra)
    with pytest.raises(RecipeError, match=message):
        validate_file(path, get_host())
    result = cli("validate", path)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "hints" in result.output


def test_colorkit_plugins_lists_the_hint_samplers():
    result = cli("plugins")
    assert result.exit_code == 0 and "Hint samplers" in result.output and "points" in result.output


def test_validate_shows_the_sampler(tmp_path, photos):
    result = cli("validate", hint_recipe(tmp_path, photos))
    assert result.exit_code == 0 and "hints points" in result.output, result.output


# --- a hint model trains, saves and colours ------------------------------------------------------


def test_a_hint_run_saves_a_hint_model(hint_run):
    for name in ("best", "last"):
        _, meta = read_checkpoint(hint_run / "checkpoints" / f"{name}.safetensors")
        assert meta["model"]["in_channels"] == 4  # L + hint_a, hint_b, hint_mask
        assert meta["hints"] == {"sampler": "points", "args": {"p_none": 0.25, "max_patch": 3}}
        json.dumps(meta["hints"])
    records = [json.loads(line) for line in (hint_run / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["val_psnr"]) and np.isfinite(r["val_psnr_hints"]) for r in records)


def test_a_run_without_hints_has_no_hint_channels_and_no_hint_metric(tmp_path, photos):
    path = hint_recipe(tmp_path, photos, extra="")
    result = cli("run", path, "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    _, meta = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert meta["model"]["in_channels"] == 1 and "hints" not in meta
    assert "val_psnr_hints" not in (run / "metrics.jsonl").read_text()
    assert "val PSNR with hints" not in result.output


def test_the_hint_model_colours_with_and_without_hints(hint_run, photos):
    colorizer = Colorizer.load(hint_run, device="cpu")
    assert colorizer.takes_hints and colorizer.hints["sampler"] == "points"
    rgb = np.asarray(Image.open(next(photos.rglob("*.png"))).convert("RGB"))
    plain = colorizer.colorize(rgb)
    hinted = colorizer.colorize(rgb, [Hint(0.5, 0.5, (60.0, -40.0), radius=0.2)])
    assert plain.shape == hinted.shape == rgb.shape and not np.array_equal(plain, hinted)



def test_a_packed_hint_model_still_takes_hints(hint_run, tmp_path):
    from colorkit.zoo import read_card

    result = cli("models", "pack", hint_run, "--name", "tiny-hints", "-o", tmp_path, "--summary", "s", "--licence", "l")
    assert result.exit_code == 0, result.output
    _, meta = read_checkpoint(tmp_path / "tiny-hints.safetensors")
    assert meta["hints"] == {"sampler": "points", "args": {"p_none": 0.25, "max_patch": 3}}
    assert read_card(tmp_path / "tiny-hints.toml").hints
    assert Colorizer.load(tmp_path / "tiny-hints.safetensors", device="cpu").takes_hints

def test_validation_with_hints_uses_the_same_hints_every_epoch(hint_run):
    from colorkit.training.trainer import resume_run

    trainer = resume_run(hint_run, console=QUIET)
    first, again = trainer.validate(), trainer.validate()
    assert first["val_psnr_hints"] == again["val_psnr_hints"] and first["val_psnr"] == again["val_psnr"]


def test_resume_repeats_the_uninterrupted_hint_run(hint_run, tmp_path):
    """Hints are drawn from the seed and the step: one epoch, then a resume, ends where two epochs end."""
    recipe = hint_run / "recipe.toml"
    result = cli("run", recipe, "--set", "train.epochs=1", "--out", tmp_path / "split")
    assert result.exit_code == 0, result.output
    (split,) = (tmp_path / "split").iterdir()
    result = cli("run", "--resume", split, "--set", "train.epochs=2")
    assert result.exit_code == 0, result.output
    got, _ = read_checkpoint(split / "checkpoints" / "last.safetensors")
    want, _ = read_checkpoint(hint_run / "checkpoints" / "last.safetensors")
    assert [k for k in want if k.startswith("model.") and not torch.equal(got[k], want[k])] == []


# --- a plugin's sampler ----------------------------------------------------------------------------


class Oracle:
    """Reveals the whole truth (a test sampler); remembers every ab it was given."""

    seen: list[torch.Tensor] = []

    def __init__(self, share: float = 1.0):
        self.share = share

    def __call__(self, ab, L, generator):
        Oracle.seen.append(ab.clone())
        mask = (torch.rand(ab.shape[0], 1, *ab.shape[2:], generator=generator) < self.share).to(ab)
        return torch.cat([ab * mask, mask], 1)


def test_colorkit_register_hint_samplers_adds_a_sampler_a_recipe_trains_with(tmp_path, photos, installed_plugins, monkeypatch):
    installed_plugins({"oracle-plugin": fake_plugin(colorkit_register_hint_samplers=lambda register: register("oracle", Oracle))})
    assert get_host().hint_samplers.get("oracle").plugin == "oracle-plugin"
    path = hint_recipe(tmp_path, photos, extra='\n[hints]\nsampler = "oracle"\nargs = { share = 0.5 }\n')
    assert cli("validate", path).exit_code == 0
    bad = hint_recipe(tmp_path, photos, extra='\n[hints]\nsampler = "oracle"\nargs = { shares = 0.5 }\n', name="bad.toml")
    assert "key 'hints.args.shares': unknown option; valid: share" in cli("validate", bad).output
    targets: list[torch.Tensor] = []
    real = LossSet.forward

    def forward(self, output, target, **context):
        if self.training:
            targets.append(target.clone())
        return real(self, output, target, **context)

    monkeypatch.setattr(LossSet, "forward", forward)
    Oracle.seen.clear()
    result = cli("run", path, "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    # every training batch's hints come from the (flipped) truth the loss compares with; then the
    # validation batches (with a fixed seed) follow
    assert len(Oracle.seen) > len(targets) == 3
    assert all(torch.equal(seen, target) for seen, target in zip(Oracle.seen, targets))
    (run,) = (tmp_path / "runs").iterdir()
    assert read_checkpoint(run / "checkpoints" / "last.safetensors")[1]["hints"] == {"sampler": "oracle", "args": {"share": 0.5}}


# --- warm start from a model without hint channels -------------------------------------------------


def test_a_hint_model_starts_from_a_model_without_hints_with_its_exact_output(tmp_path, photos):
    init = save_tiny_checkpoint(tmp_path / "plain.safetensors")
    path = hint_recipe(tmp_path, photos, extra="\n[hints]\n")
    path.write_text(path.read_text().replace('name = "cunet"', f'name = "cunet"\ninit = "{init}"'))
    trainer = start_run(load_recipe(path), console=QUIET)
    old = Colorizer.load(init, device="cpu", fast=None).model
    new = trainer.model.eval()
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        want = old(x)
        got = new(torch.cat([x, torch.zeros(3, 3, 32, 32)], 1))
    assert torch.allclose(got, want, atol=1e-6, rtol=0)
    tensors, _ = read_checkpoint(init)
    widened = {k for k, v in new.state_dict().items() if v.shape != tensors[f"model.{k}"].shape}
    assert widened and all(new.state_dict()[k][:, 1:].eq(0).all() for k in widened)
    with torch.no_grad():  # the new channels start at zero weight, so hints change nothing yet
        assert torch.allclose(new(torch.cat([x, torch.rand(3, 3, 32, 32)], 1)), want, atol=1e-6, rtol=0)


def test_other_differences_are_still_one_line_naming_them(tmp_path, photos):
    plain = save_tiny_checkpoint(tmp_path / "plain.safetensors")
    hinted = save_tiny_checkpoint(tmp_path / "hinted.safetensors", hints={"sampler": "points"})

    def validate(init: Path, extra: str, *sets: str) -> str:
        path = hint_recipe(tmp_path, photos, extra=extra)
        path.write_text(path.read_text().replace('name = "cunet"', f'name = "cunet"\ninit = "{init}"'))
        result = cli("validate", path, *sets)
        return result.output.strip()

    assert "args.width 8 (recipe: 12)" in validate(plain, HINTS, "--set", "model.args.width=12")
    assert "in_channels 4 (recipe: 1)" in validate(hinted, "")  # a hint model into a recipe without hints
    assert validate(hinted, HINTS).startswith("ok")  # a hint model into a hint recipe: as it is
