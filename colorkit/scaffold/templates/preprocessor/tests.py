"""Tests of the '__NAME__' preprocessor, as colorkit sees it once the package is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import colorkit
from colorkit.preprocess import Preprocessors, gray_u8
from colorkit.recipe import validate_file
from __MODULE__ import __CLS__

RECIPE = Path(__file__).parents[1] / "__NAME__.toml"


def test_flat_image_has_no_edges():
    out = __CLS__()(np.full((8, 8), 77, np.uint8))
    assert out.shape == (1, 8, 8) and out.dtype == np.float32 and out.max() == 0


def test_hand_computed_step_edge():
    gray = np.zeros((4, 4), np.uint8)
    gray[:, 2:] = 255  # a vertical step between columns 1 and 2
    out = __CLS__(scale=1.0)(gray)
    # Sobel x on the step: (1 + 2 + 1) / 8 = 0.5 on both sides of it
    assert out[0, :, 1:3].flatten().tolist() == pytest.approx([0.5] * 8)
    assert out[0, :, 0].max() == 0


def test_on_photos_from_the_fixture_folder(tiny_image_folder, colorkit_host):
    photo = next(p for p in sorted(tiny_image_folder.rglob("*")) if p.suffix in (".png", ".jpg"))
    rgb = np.array(Image.open(photo).convert("RGB"))
    out = Preprocessors([{"name": "__NAME__"}], colorkit_host)(rgb)  # colorkit checks shape and range
    assert out.shape == (1, *rgb.shape[:2]) and 0 < out.max() <= 1
    assert np.array_equal(out, __CLS__()(gray_u8(rgb)))


def test_rejects_a_bad_option():
    with pytest.raises(ValueError, match="scale"):
        __CLS__(scale=0)


def test_discovered_through_the_entry_point(colorkit_host):
    assert colorkit_host.preprocessors.get("__NAME__").plugin == "__NAME__"
    info = {p.name: p for p in colorkit_host.plugins}["__NAME__"]
    assert info.registered == {"preprocessors": ["__NAME__"]} and not info.errors


def test_its_recipe_validates(colorkit_host):
    validate_file(RECIPE, colorkit_host)


def test_trains_a_tiny_model_with_the_channel(tiny_recipe):
    extra = '[[preprocess]]\nname = "__NAME__"\n'
    run = colorkit.train(tiny_recipe(extra=extra), overrides=["train.epochs=1", "log.tensorboard=false"], quiet=True)
    colorizer = colorkit.load_colorizer(run)
    assert colorizer.network_inputs([np.zeros((20, 30, 3), np.uint8)]).shape[1] == 2  # L, then the '__NAME__' channel
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] > 0 and math.isfinite(last["train_loss"])
    rgb = colorkit.colorize(colorizer, np.full((20, 30), 128, np.uint8))  # the trained model colours a gray array
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
