"""Tests of the '__NAME__' loss, as colorkit sees it once the package is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import colorkit
from colorkit.recipe import validate_file
from __MODULE__ import __CLS__

RECIPE = Path(__file__).parents[1] / "__NAME__.toml"


def test_hand_computed_value():
    pred = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[[0.0, 0.6]], [[0.0, 0.8]]]])  # chroma 0 and 1
    # errors 0 and (0.6 + 0.8) / 2 = 0.7; weights 1 and 1 + 2 * 1 = 3 -> (0 + 3 * 0.7) / 4
    assert __CLS__(boost=2.0)(pred, target)["__NAME__"].item() == pytest.approx(2.1 / 4)


def test_equals_l1_without_boost():
    pred, target = torch.randn(2, 2, 8, 8), torch.randn(2, 2, 8, 8)
    assert __CLS__(boost=0)(pred, target)["__NAME__"].item() == pytest.approx((pred - target).abs().mean().item(), rel=1e-5)


def test_finite_gradient():
    pred = torch.zeros(2, 2, 16, 16, requires_grad=True)
    __CLS__()(pred, torch.rand(2, 2, 16, 16) * 2 - 1)["__NAME__"].backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_rejects_a_bad_option():
    with pytest.raises(ValueError, match="boost"):
        __CLS__(boost=-1)


def test_discovered_through_the_entry_point(colorkit_host):
    assert colorkit_host.losses.get("__NAME__").plugin == "__NAME__"
    info = {p.name: p for p in colorkit_host.plugins}["__NAME__"]
    assert info.registered == {"losses": ["__NAME__"]} and not info.errors


def test_its_recipe_validates(colorkit_host):
    validate_file(RECIPE, colorkit_host)


def test_trains_a_tiny_model(tiny_recipe):
    run = colorkit.train(tiny_recipe(loss="__NAME__"), overrides=["train.epochs=1", "log.tensorboard=false"], quiet=True)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] > 0 and math.isfinite(last["train_loss"])
    rgb = colorkit.colorize(run, np.full((20, 30), 128, np.uint8))  # the trained model colours a gray array
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
