"""Tests of the '__NAME__' model, as colorkit sees it once the package is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import colorkit
from colorkit.errors import RecipeError
from colorkit.recipe import validate_file
from __MODULE__ import __CLS__

RECIPE = Path(__file__).parents[1] / "__NAME__.toml"


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_shape_and_gradient(depth):
    net = __CLS__(in_channels=1, out_channels=2, width=4, depth=depth)
    x = torch.randn(2, 1, 32, 32)
    y = net(x)
    assert y.shape == (2, 2, 32, 32) and torch.isfinite(y).all()
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_input_stride():
    assert __CLS__.input_stride(depth=3) == 8 and __CLS__.input_stride() == 4


def test_discovered_through_the_entry_point(colorkit_host):
    assert colorkit_host.models.get("__NAME__").plugin == "__NAME__"
    info = {p.name: p for p in colorkit_host.plugins}["__NAME__"]
    assert info.registered == {"models": ["__NAME__"]} and not info.errors


def test_its_recipe_validates_and_the_stride_is_checked(colorkit_host):
    validate_file(RECIPE, colorkit_host)
    with pytest.raises(RecipeError, match="divisible"):
        validate_file(RECIPE, colorkit_host, ["data.size=66"])


def test_trains_a_tiny_model(tiny_recipe):
    overrides = ["train.epochs=1", "log.tensorboard=false", "model.args.width=4"]
    run = colorkit.train(tiny_recipe(model="__NAME__"), overrides=overrides, quiet=True)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] > 0 and math.isfinite(last["train_loss"])
    rgb = colorkit.colorize(run, np.full((20, 30), 128, np.uint8))  # the trained model colours a gray array
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
