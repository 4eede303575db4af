"""[hints.spread]: the hints spread over the regions they fall in, as three more input channels."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from colorkit.data.lab import AB_SCALE
from colorkit.hints import HINT_CHANNELS, Hint, hint_channels, render_hints
from colorkit.checkpoint import read_checkpoint
from colorkit.hints.skip import SpreadSkip
from colorkit.hints.spread import SPREAD_CHANNELS, SpreadOptions, spread_hints
from colorkit.inference.colorizer import Colorizer
from colorkit.recipe import load_recipe
from colorkit.testing import cli, make_images, save_tiny_checkpoint, write_recipe

SPREAD = {"sampler": "points", "args": {}, "spread": {"sigma": 0.25, "sigma_l": 10.0, "skip": False}}


def hints_tensor(hints: list[Hint], size: int) -> torch.Tensor:
    return torch.from_numpy(render_hints(hints, size))[None]


def exact_spread(L: torch.Tensor, hints: torch.Tensor, o: SpreadOptions) -> tuple[torch.Tensor, torch.Tensor]:
    """The bilateral sum over every hinted pixel, pixel by pixel: what the grid approximates."""
    _, _, h, w = hints.shape
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    q = hints[0, 2].flatten().nonzero()[:, 0]
    Lu = (L[0, 0].flatten() + 1) * 50
    d2 = (ys.flatten()[:, None] - ys.flatten()[q]) ** 2 + (xs.flatten()[:, None] - xs.flatten()[q]) ** 2
    weight = torch.exp(-d2 / (2 * (o.sigma * max(h, w)) ** 2) - (Lu[:, None] - Lu[q]) ** 2 / (2 * o.sigma_l**2))
    ab = (weight @ hints[0, :2].flatten(1)[:, q].T) / weight.sum(1, keepdim=True)
    return ab.T.reshape(2, h, w), weight.sum(1).reshape(h, w)


def test_no_hint_spreads_nothing():
    out = spread_hints(torch.rand(2, 1, 24, 24) * 2 - 1, torch.zeros(2, 3, 24, 24), SpreadOptions())
    assert out.shape == (2, len(SPREAD_CHANNELS), 24, 24) and not out.any()


def test_one_hint_gives_its_colour_wherever_it_reaches_and_fades_with_distance():
    L = torch.zeros(1, 1, 32, 32)  # one flat lightness: only the distance counts
    out = spread_hints(L, hints_tensor([Hint(0.25, 0.25, (30.0, -20.0))], 32), SpreadOptions(sigma=0.25))
    reached = out[0, 2] > 1e-3
    assert reached[:24, :24].all()  # sigma is 8 px: within 2.8 sigma of the hint at (8, 8)
    assert torch.allclose(out[0, 0][reached], torch.tensor(30.0 / AB_SCALE), atol=1e-5)
    assert torch.allclose(out[0, 1][reached], torch.tensor(-20.0 / AB_SCALE), atol=1e-5)
    weight = out[0, 2]
    assert weight[8, 8] == pytest.approx(1 - np.exp(-1), abs=0.05)  # one hint at the pixel itself
    assert weight[8, 8] > weight[8, 16] > weight[8, 31] > 0  # fades along the row


def test_a_hint_stays_on_its_side_of_an_edge_in_lightness():
    L = torch.full((1, 1, 32, 32), -0.6)
    L[..., 16:] = 0.6  # dark left half, bright right half
    hints = hints_tensor([Hint(0.05, 0.5, (40.0, 0.0)), Hint(0.95, 0.5, (-40.0, 0.0))], 32)
    out = spread_hints(L, hints, SpreadOptions(sigma=0.5, sigma_l=10)) * AB_SCALE
    assert out[0, 0, :, :16].min() > 39 and out[0, 0, :, 16:].max() < -39  # each half takes its own hint's colour
    blind = spread_hints(L, hints, SpreadOptions(sigma=0.5, sigma_l=100)) * AB_SCALE  # lightness barely matters
    assert abs(blind[0, 0, 16, 15]) < 10  # at the edge the two colours mix


def test_the_grid_matches_the_exact_bilateral_sum():
    gen = torch.Generator().manual_seed(0)
    L = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 48, 48, generator=gen), 5, 1, 2) * 2 - 1
    places = torch.rand(12, 2, generator=gen)
    colours = torch.rand(12, 2, generator=gen) * 100 - 50
    hints = hints_tensor([Hint(float(x), float(y), (float(a), float(b))) for (x, y), (a, b) in zip(places, colours)], 48)
    o = SpreadOptions(sigma=0.25, sigma_l=10)
    out = spread_hints(L, hints, o)
    ab, weight = exact_spread(L, hints, o)
    assert (out[0, :2] * AB_SCALE - ab * AB_SCALE).abs().mean() < 2.0  # LAB units, of colours 100 apart
    assert (out[0, 2] - (1 - torch.exp(-weight))).abs().mean() < 0.05


def test_the_spread_channels_follow_the_hint_channels():
    assert hint_channels(None) == ()
    assert hint_channels({"sampler": "points"}) == HINT_CHANNELS
    assert hint_channels(SPREAD) == HINT_CHANNELS + SPREAD_CHANNELS


def test_a_spread_model_gets_the_spread_of_its_hints(tmp_path):
    photo = np.full((40, 40, 3), 128, np.uint8)
    colorizer = Colorizer.load(save_tiny_checkpoint(tmp_path / "s.safetensors", hints=SPREAD), device="cpu")
    hint = Hint(0.5, 0.5, (40.0, 20.0))
    x = colorizer.network_inputs([photo, photo], [[hint], None])
    assert x.shape == (2, 1 + 6, 32, 32)
    assert np.array_equal(x[0, 1:4].numpy(), render_hints([hint], 32))
    assert torch.allclose(x[0, 4][x[0, 6] > 1e-3], torch.tensor(40.0 / AB_SCALE), atol=1e-5)  # a flat photo: everywhere
    assert not x[1, 1:].any()
    assert not torch.equal(colorizer.run(x[:1]), colorizer.run(x[1:]))  # the network reads them


@pytest.mark.parametrize(
    "table, message",
    [
        ("sigma = 0", r"key 'hints.spread.sigma': .*greater than or equal to 0.02"),
        ("sigma_l = -1", r"key 'hints.spread.sigma_l': .*greater than or equal to 2"),
        ("reach = 2", r"hints.spread.reach"),
    ],
)
def test_bad_spread_options_name_the_key(tmp_path, table, message):
    photos = make_images(tmp_path / "photos", count=2, size=32)[0].parent
    path = write_recipe(tmp_path / "r.toml", photos, tmp_path / "runs", extra=f"\n[hints]\n[hints.spread]\n{table}\n")
    result = cli("validate", path)
    assert result.exit_code != 0 and result.output.count("\n") <= 2
    assert __import__("re").search(message, result.output), result.output


def test_a_spread_recipe_trains_a_model_with_six_hint_channels_from_a_hint_model(tmp_path):
    photos = make_images(tmp_path / "photos", count=8, size=32)[0].parent
    init = save_tiny_checkpoint(tmp_path / "hinted.safetensors", hints={"sampler": "points"})
    path = write_recipe(tmp_path / "r.toml", photos, tmp_path / "runs", extra="\n[hints]\n[hints.spread]\n")
    path.write_text(path.read_text().replace('name = "cunet"', f'name = "cunet"\ninit = "{init}"'))
    assert load_recipe(path).hints.spread == SpreadOptions()
    result = cli("run", path)
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    tensors, meta = read_checkpoint(run / "checkpoints" / "best.safetensors")
    assert meta["hints"]["spread"] == {"sigma": 0.25, "sigma_l": 10.0, "skip": True}
    assert meta["model"]["in_channels"] == 7 and meta["model"]["spread_skip"] is True
    assert {k for k in tensors if k.startswith("model.")} == set(read_checkpoint(init)[0])  # the network's own names
    colorizer = Colorizer.load(run, device="cpu", fast=None)
    assert isinstance(colorizer.model, SpreadSkip)
    x = colorizer.network_inputs([np.full((32, 32, 3), 128, np.uint8)], [[Hint(0.5, 0.5, (50.0, -30.0), radius=0.1)]])
    with torch.no_grad():  # the output is the network's plus the weighted spread hints
        want = colorizer.model.net(x) + x[:, 6:7] * x[:, 4:6]
        assert torch.allclose(colorizer.model(x), want) and not torch.allclose(want, colorizer.model.net(x))
    if importlib.util.find_spec("onnxruntime") is not None:  # the exported graph holds the skip
        assert cli("export", run, "-o", tmp_path / "m.onnx").exit_code == 0
        exported = Colorizer.load(tmp_path / "m.onnx", device="cpu")
        assert torch.allclose(exported.run(x), colorizer.run(x), atol=1e-3)


def test_the_skip_needs_a_loss_that_predicts_ab(tmp_path):
    photos = make_images(tmp_path / "photos", count=2, size=32)[0].parent
    path = write_recipe(tmp_path / "r.toml", photos, tmp_path / "runs", loss="rebalanced_ce", extra="\n[hints]\n[hints.spread]\n")
    result = cli("validate", path)
    assert result.exit_code != 0 and "hints.spread.skip" in result.output and "skip = false" in result.output, result.output
    path.write_text(path.read_text().replace("[hints.spread]", "[hints.spread]\nskip = false"))
    assert cli("validate", path).exit_code == 0
