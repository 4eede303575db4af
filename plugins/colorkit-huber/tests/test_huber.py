"""The plugin as colorkit sees it once installed (pip install -e plugins/colorkit-huber)."""

import pytest
import torch

from colorkit.recipe import validate_file
from colorkit_huber import HuberLoss


def test_matches_hand_computed_values():
    pred = torch.tensor([0.0, 0.05, 1.0, -0.3]).view(1, 2, 1, 2)
    target = torch.zeros(1, 2, 1, 2)
    # delta 0.1: 0.5*e^2 when |e| <= 0.1, else 0.1*(|e| - 0.05)
    expected = (0.0 + 0.5 * 0.05**2 + 0.1 * (1.0 - 0.05) + 0.1 * (0.3 - 0.05)) / 4
    assert HuberLoss(delta=0.1)(pred, target)["huber"].item() == pytest.approx(expected)


def test_rejects_bad_delta():
    with pytest.raises(ValueError, match="delta"):
        HuberLoss(delta=0)


def test_discovered_through_entry_point(colorkit_host):
    assert colorkit_host.losses.get("huber").plugin == "huber"
    info = {p.name: p for p in colorkit_host.plugins}["huber"]
    assert info.version == "0.1.0" and info.registered == {"losses": ["huber"]} and not info.errors


def test_its_recipe_validates(colorkit_host):
    from pathlib import Path

    validate_file(Path(__file__).parents[1] / "huber.toml", colorkit_host)


def test_trains_from_a_recipe(tiny_recipe, colorkit_host):
    from colorkit.training.trainer import start_run
    from colorkit.recipe import load_recipe

    path = tiny_recipe(loss="huber")
    result = start_run(load_recipe(path), source=str(path), host=colorkit_host).run()
    assert result.steps > 0 and result.train_loss == result.train_loss  # finite, not NaN
    assert "huber" in (result.run_dir / "metrics.jsonl").read_text()
