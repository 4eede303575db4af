"""Per-source loss weights (`source_weights` in a `[[loss]]` entry): a loss counts on some folders only."""

import json

import pytest
import torch

from colorkit.build import LossSet
from colorkit.data.dataset import build_datasets
from colorkit.errors import ColorkitError, RecipeError
from colorkit.losses import ColorfulnessLoss, L1Loss
from colorkit.recipe import DataConfig, DataSource, parse_recipe
from colorkit.testing import TINY_ARGS, cli, make_images


def _loss_set(loss, weights, name="l1"):
    return LossSet([(name, 1.0, loss)], [{}], source_weights=[weights])


def test_each_image_counts_with_its_sources_weight():
    torch.manual_seed(0)
    pred, target, L = torch.rand(4, 2, 8, 8) - 0.5, torch.rand(4, 2, 8, 8) - 0.5, torch.rand(4, 1, 8, 8) * 2 - 1
    source = torch.tensor([0, 1, 0, 1])
    per_image = (pred - target).abs().mean(dim=(1, 2, 3))
    total, _ = _loss_set(L1Loss(), [1.0, 0.0])(pred, target, source=source)
    assert total.item() == pytest.approx(float(per_image[[0, 2]].sum() / 4))
    total, _ = _loss_set(L1Loss(), [2.0, 0.5])(pred, target, source=source)
    assert total.item() == pytest.approx(float((2 * per_image[[0, 2]].sum() + 0.5 * per_image[[1, 3]].sum()) / 4))
    # a loss that needs the lightness gets each source's own slice of it
    colour = ColorfulnessLoss()
    alone = [colour(pred[i : i + 1], target[i : i + 1], L=L[i : i + 1])["colorfulness"] for i in range(4)]
    total, logs = _loss_set(colour, [0.0, 1.0], "colorfulness")(pred, target, L=L, source=source)
    assert total.item() == pytest.approx(float(alone[1] + alone[3]) / 4, rel=1e-5)
    assert logs["colorfulness"] == pytest.approx(total.item())


def test_a_batch_of_weight_zero_images_still_backpropagates():
    pred = (torch.rand(2, 2, 8, 8) - 0.5).requires_grad_()
    total, _ = _loss_set(L1Loss(), [0.0, 1.0])(pred, torch.zeros(2, 2, 8, 8), source=torch.tensor([0, 0]))
    total.backward()
    assert total.item() == 0.0 and torch.equal(pred.grad, torch.zeros_like(pred))


def test_source_weights_without_the_images_sources_is_an_error():
    with pytest.raises(ColorkitError, match=r"loss.0 \('l1'\): source_weights need each image's source"):
        _loss_set(L1Loss(), [1.0, 0.0])(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))


@pytest.mark.parametrize(
    "sources, weights, message",
    [
        (2, [1.0], r"loss.0.source_weights has 1 value\(s\) but the recipe has 2 \[\[data.sources\]\] entries"),
        (0, [1.0], r"loss.0.source_weights has 1 value\(s\) but the recipe has 0"),
        (2, [1.0, -1.0], r"loss.0.source_weights.*must be >= 0"),
    ],
)
def test_recipe_checks_one_weight_per_source(sources, weights, message):
    raw = {"name": "r", "loss": [{"name": "l1", "source_weights": weights}]}
    if sources:
        raw["data"] = {"sources": [{"folder": f"f{i}"} for i in range(sources)]}
    with pytest.raises(RecipeError, match=message):
        parse_recipe(raw, "r.toml")


def test_items_know_their_source_in_training_and_validation(tmp_path):
    make_images(tmp_path / "a", count=5, size=16)
    make_images(tmp_path / "b", count=4, size=16, seed=1)
    (tmp_path / "val.txt").write_text("img_001.jpg\nimg_002.png\n")
    data = DataConfig(size=8, cache=False, val_fraction=0.2,
                      sources=[DataSource(folder=str(tmp_path / "a")), DataSource(folder=str(tmp_path / "b"), val_split=str(tmp_path / "val.txt"))])
    split = build_datasets(data, seed=0)
    train, val = torch.arange(len(split.train)), torch.arange(len(split.val))
    assert split.sources(train).tolist() == [0] * 4 + [1] * 4
    assert split.sources(val, val=True).tolist() == [0, 1, 1]
    single = build_datasets(DataConfig(source=str(tmp_path / "a"), size=8, cache=False), seed=0)
    assert single.sources(train) is None


def _first_step_terms(tmp_path, weights: str, name: str) -> dict:
    recipe = tmp_path / f"{name}.toml"
    args = "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in TINY_ARGS["cunet"].items()) + " }"
    recipe.write_text(f"""name = "{name}"
seed = 3
[data]
size = 16
cache = false
[[data.sources]]
folder = "{tmp_path / 'a'}"
[[data.sources]]
folder = "{tmp_path / 'b'}"
[model]
name = "cunet"
args = {args}
[[loss]]
name = "l1"
source_weights = {weights}
[train]
batch_size = 12
max_steps = 1
[output]
dir = "{tmp_path / 'runs'}"
samples = 0
""")
    result = cli("run", str(recipe))
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").glob(f"{name}-*")
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert record["val_l1"] >= 0 and record["val_psnr"] > 0
    return record["terms"]


def test_training_weights_each_folders_images(tmp_path):
    make_images(tmp_path / "a", count=8, size=24)
    make_images(tmp_path / "b", count=8, size=24, seed=5)
    both = _first_step_terms(tmp_path, "[1.0, 1.0]", "both")["l1"]
    first = _first_step_terms(tmp_path, "[1.0, 0.0]", "first")["l1"]
    second = _first_step_terms(tmp_path, "[0.0, 1.0]", "second")["l1"]
    doubled = _first_step_terms(tmp_path, "[2.0, 2.0]", "doubled")["l1"]
    # the same first batch each time: the two folders' parts add up to the whole
    assert 0 < first < both and 0 < second < both and first + second == pytest.approx(both, rel=1e-5)
    assert doubled == pytest.approx(2 * both, rel=1e-5)
