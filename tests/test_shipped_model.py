"""The pretrained model that ships inside the package: registered, intact, and colouring with no run."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorkit.data.lab import rgb_to_lab_np
from colorkit.plugins import create_host
from colorkit.testing import cli, make_images
from colorkit.zoo import DEFAULT_HINT_MODEL, DEFAULT_MODEL
from colorkit.zoo.sources import sha256_of

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 16 * 1024 * 1024


def test_the_default_model_ships_registered_intact_and_small():
    entry = create_host(entry_points=False).registries["pretrained"].get(DEFAULT_MODEL)
    card = entry.factory
    assert entry.plugin == "colorkit.zoo" and card.location() == "bundled"
    path = card()  # checked against the card's sha256
    assert sha256_of(path) == card.weights.sha256 and path.stat().st_size == card.weights.bytes <= MAX_BYTES
    assert "non-commercial" in card.licence and all(d.licence for d in card.data)
    assert (ROOT / card.recipe).is_file() and "test" not in " ".join(d.splits for d in card.data)
    assert {"utkface_test", "people_scenes_test"} <= set(card.metrics)


def test_colorize_with_no_model_uses_the_shipped_one_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (photo,) = make_images(tmp_path / "in", count=1, size=96)
    gray = tmp_path / "gray.png"
    Image.open(photo).convert("L").save(gray)
    result = cli("colorize", gray, "-o", tmp_path / "colour.png")
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "colour.png").convert("RGB")) / 255.0
    assert out.shape == (96, 96, 3)
    lab = rgb_to_lab_np(out)
    assert np.abs(lab[..., 1:]).mean() > 1.0  # it adds colour
    assert np.abs(lab[..., 0] - rgb_to_lab_np(np.asarray(Image.open(gray).convert("RGB")) / 255.0)[..., 0]).max() < 1.5  # and keeps L


def test_the_web_page_starts_with_a_shipped_model_that_takes_hints():
    card = create_host(entry_points=False).registries["pretrained"].get(DEFAULT_HINT_MODEL).factory
    assert card.hints and card.location() == "bundled"


def test_the_fine_tuning_recipe_fits_the_shipped_model():
    result = cli("validate", ROOT / "recipes" / "finetune_faces.toml")
    assert result.exit_code == 0, result.output


def test_every_bundled_model_is_intact_small_and_says_its_licence():
    registry = create_host(entry_points=False).registries["pretrained"]
    for entry in map(registry.get, registry.names()):
        card = entry.factory
        assert entry.plugin == "colorkit.zoo" and card.location() == "bundled"
        path = card()
        assert sha256_of(path) == card.weights.sha256 and path.stat().st_size <= MAX_BYTES
        assert "non-commercial" in card.licence and all(d.licence for d in card.data) and (ROOT / card.recipe).is_file()


@pytest.mark.parametrize("model", ["faces-hints", "faces-scenes-hints"])
def test_the_shipped_hint_models_follow_a_hints_file(tmp_path, model):
    (photo,) = make_images(tmp_path / "in", count=1, size=128)
    gray = tmp_path / "gray.png"
    Image.open(photo).convert("L").save(gray)
    hints = tmp_path / "centre.hints.json"  # not gray.hints.json, which colorize would pick up for the plain run too
    # a green, which faces and UTKFace's backgrounds hardly have: the spread hints carry it (docs/hints.md)
    hints.write_text('{"units": "fraction", "hints": [{"x": 0.5, "y": 0.5, "ab": [-40, 30], "radius": 0.05}]}')
    for name, extra in (("plain.png", []), ("hinted.png", ["--hints", hints])):
        result = cli("colorize", model, gray, "-o", tmp_path / name, *extra)
        assert result.exit_code == 0, result.output
    plain, hinted = (rgb_to_lab_np(np.asarray(Image.open(tmp_path / n).convert("RGB")) / 255.0)[60:68, 60:68, 1:].mean((0, 1)) for n in ("plain.png", "hinted.png"))
    assert np.linalg.norm(hinted - np.array([-40, 30])) < np.linalg.norm(plain - np.array([-40, 30])) / 4  # toward the hint
