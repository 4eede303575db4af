"""Random changes to training batches (colorkit/training/augment.py): flips and zoomed crops drawn
from the seed and the step, the same in every channel, and what a run does with them."""

from __future__ import annotations

import pytest
import torch

from colorkit.checkpoint import read_checkpoint
from colorkit.errors import RecipeError
from colorkit.recipe import load_recipe
from colorkit.testing import cli, make_images, write_recipe
from colorkit.training.augment import crop_boxes, random_crops, random_flips

pytestmark = pytest.mark.usefixtures("one_thread")


def test_flips_turn_the_same_images_in_every_tensor():
    L = torch.arange(8 * 4, dtype=torch.float32).view(8, 1, 1, 4)
    ab, extra = L.repeat(1, 2, 1, 1) * 2, L.repeat(1, 3, 1, 1) * 3
    L2, ab2, extra2, none = random_flips((L, ab, extra, None), seed=3, step=0, lo=0)
    flipped = (L2 != L).flatten(1).any(1)
    assert 0 < int(flipped.sum()) < 8 and none is None
    assert torch.equal(L2[flipped], L[flipped].flip(-1)) and torch.equal(L2[~flipped], L[~flipped])
    assert torch.equal(ab2, L2.repeat(1, 2, 1, 1) * 2) and torch.equal(extra2, L2.repeat(1, 3, 1, 1) * 3)


def test_crop_boxes_lie_inside_the_image_and_cover_at_least_the_share_asked():
    box = crop_boxes(4000, 0.6, seed=1, step=7, lo=0)
    side, centre = box[:, 0], box[:, 1:]
    assert side.min() >= 0.6**0.5 - 1e-9 and side.max() <= 1
    assert side.min() < 0.8 and side.max() > 0.99  # the whole range is drawn
    assert (centre.abs() <= (1 - side)[:, None] + 1e-9).all()
    assert (centre.abs().max(0).values > 0.1).all()  # and not only at the centre


def test_crop_boxes_come_from_the_seed_and_the_step_and_a_rank_gets_its_slice():
    whole = crop_boxes(8, 0.5, seed=1, step=3, lo=0)
    assert torch.equal(whole, crop_boxes(8, 0.5, seed=1, step=3, lo=0))
    assert not torch.equal(whole, crop_boxes(8, 0.5, seed=1, step=4, lo=0))
    assert not torch.equal(whole, crop_boxes(8, 0.5, seed=2, step=3, lo=0))
    assert torch.equal(crop_boxes(4, 0.5, seed=1, step=3, lo=4), whole[4:])  # rank 1 of 2, batch 8


def ramps(n: int, size: int) -> torch.Tensor:
    """``(n, 2, size, size)``: channel 0 is each pixel's x, channel 1 its y, in grid_sample's units."""
    centres = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([x, y]).expand(n, 2, size, size).clone()


def test_a_crop_is_the_box_it_drew_resized_back():
    """On images whose pixels hold their own coordinates, the cropped pixel holds where it was taken
    from: side x its place + the box's centre (bilinear resampling is exact on a ramp)."""
    size, n = 32, 16
    image = ramps(n, size)
    (out, none) = random_crops((image, None), 0.5, seed=5, step=2, lo=0)
    box = crop_boxes(n, 0.5, seed=5, step=2, lo=0).float()
    want = image * box[:, :1, None, None] + box[:, 1:, None, None]
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # the border pixels may be clamped
    assert none is None and out.shape == image.shape
    assert torch.allclose(out[inner], want[inner], atol=1e-5)


def test_crops_cut_every_tensor_alike():
    rgb = torch.rand(6, 3, 16, 16)
    out_rgb, out_extra = random_crops((rgb, rgb[:, 1:2].clone()), 0.7, seed=0, step=0, lo=0)
    assert torch.equal(out_extra, out_rgb[:, 1:2])
    assert not torch.allclose(out_rgb, rgb)
    assert out_rgb.min() >= rgb.min() and out_rgb.max() <= rgb.max()  # resampling never leaves the range


# --- in a run -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("augment")
    make_images(root / "photos", count=12, size=32)
    return write_recipe(root / "tiny.toml", root / "photos", root / "runs")


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_crop_scale_out_of_range_is_refused_naming_the_key(recipe, value):
    text = recipe.read_text().replace("[data]\n", f"[data]\ncrop_scale = {value}\n")
    bad = recipe.with_name("bad.toml")
    bad.write_text(text)
    with pytest.raises(RecipeError, match="data.crop_scale"):
        load_recipe(bad)


def weights(run) -> dict:
    tensors, _ = read_checkpoint(run / "checkpoints" / "last.safetensors")
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


def run_once(recipe, out, *sets: str):
    result = cli("run", recipe, "--out", out, *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    return run


def test_a_run_with_crops_trains_on_other_pixels_and_resumes_exactly(recipe, tmp_path):
    whole = weights(run_once(recipe, tmp_path / "whole"))
    cropped = run_once(recipe, tmp_path / "cropped", "data.crop_scale=0.6")
    assert load_recipe(cropped / "recipe.toml").data.crop_scale == 0.6
    got = weights(cropped)
    assert any(not torch.equal(got[k], whole[k]) for k in whole)
    split = run_once(recipe, tmp_path / "split", "data.crop_scale=0.6", "train.epochs=1")
    result = cli("run", "--resume", split, "--set", "train.epochs=2")
    assert result.exit_code == 0, result.output
    resumed = weights(split)
    assert [k for k in got if not torch.equal(got[k], resumed[k])] == []
