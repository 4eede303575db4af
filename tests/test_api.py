"""colorkit's public API (colorkit/api.py): train a recipe, load its colorizer, colour an array."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

import colorkit
from colorkit.api import resolve_model
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.recipe import load_recipe
from colorkit.testing import make_images, write_recipe

QUIET = ["log.tensorboard=false"]


def _epochs(run: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A recipe (32 px, 2 epochs, 8 photos) and the run directory ``colorkit.train`` made from it."""
    root = tmp_path_factory.mktemp("api")
    photos = make_images(root / "photos", count=8, size=40)
    recipe = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    return recipe, photos, colorkit.train(recipe, overrides=QUIET, quiet=True)


@pytest.mark.slow
def test_train_returns_the_run_directory(tiny):
    recipe, _, run = tiny
    assert run.parent == recipe.parent / "runs" and run.name.startswith("tiny-")
    assert (run / "checkpoints" / "best.safetensors").is_file() and (run / "recipe.toml").is_file()
    assert _epochs(run) == [1, 2]


@pytest.mark.slow
def test_train_resumes_a_run_with_overrides(tiny, tmp_path):
    run = shutil.copytree(tiny[2], tmp_path / tiny[2].name)
    assert colorkit.train(resume=run, overrides=["train.epochs=3"], quiet=True) == run
    assert _epochs(run) == [1, 2, 3] and "epochs = 3" in (run / "recipe.toml").read_text()


@pytest.mark.slow
def test_train_takes_a_recipe_object_and_applies_overrides(tiny):
    recipe = load_recipe(tiny[0], QUIET)
    run = colorkit.train(recipe, overrides=["name=object", "train.epochs=1"], quiet=True)
    assert run.name.startswith("object-") and _epochs(run) == [1]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_colorize_keeps_the_size_and_the_full_resolution_lightness(tiny, mode):
    _, photos, run = tiny
    photo = np.asarray(Image.open(photos[0]).convert("RGB").resize((61, 45)))  # not the network's 32 x 32
    image = np.asarray(Image.fromarray(photo).convert("L")) if mode == "gray" else photo
    colorizer = colorkit.load_colorizer(run, device="cpu")
    out = colorkit.colorize(colorizer, image)
    assert out.shape == (45, 61, 3) and out.dtype == np.uint8
    gray3 = np.repeat(image[..., None], 3, 2) if mode == "gray" else photo
    assert np.abs(rgb2lab(out)[..., 0] - rgb2lab(gray3)[..., 0]).mean() < 1.0
    assert np.array_equal(colorkit.colorize(run, image), out)  # a run directory loads the same colorizer


@pytest.mark.slow
def test_a_model_argument_resolves_to_one_file(tiny, tmp_path):
    run = tiny[2]
    assert resolve_model(run) == run / "checkpoints" / "best.safetensors"
    assert resolve_model(run / "checkpoints" / "last.safetensors") == run / "checkpoints" / "last.safetensors"
    assert resolve_model(tmp_path / "model.onnx") == tmp_path / "model.onnx"
    with pytest.raises(CheckpointError, match="no checkpoints/best.safetensors"):
        colorkit.load_colorizer(tmp_path)


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 1), np.uint8), np.zeros((0, 4), np.uint8)],
    ids=["float", "rgba", "one-channel", "empty"],
)
def test_colorize_refuses_other_arrays_before_loading_anything(image, tmp_path):
    with pytest.raises(ColorkitError, match=r"colorize: image must be uint8 \(H, W\) gray or \(H, W, 3\) RGB, got"):
        colorkit.colorize(tmp_path / "no-such-run", image)


def test_train_needs_a_recipe_or_a_run_but_not_both(tmp_path):
    with pytest.raises(ColorkitError, match="give a recipe"):
        colorkit.train()
    with pytest.raises(ColorkitError, match="give no recipe with it"):
        colorkit.train(tmp_path / "r.toml", resume=tmp_path)


def test_import_colorkit_stays_cheap():
    code = "import sys, colorkit; print('torch' in sys.modules, 'colorkit.api' in sys.modules, colorkit.train.__module__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "colorkit.api"]
