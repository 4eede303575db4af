"""colorkit compare: equal terms for every variant, a full report, and resume that reuses work."""

import csv
import json

import pytest
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.errors import RecipeError
from colorkit.testing import make_images, write_recipe
from colorkit.training.compare import load_compare

runner = CliRunner()


def cli(*args):
    return runner.invoke(create_app(), [str(a) for a in args])


@pytest.fixture
def base(tmp_path):
    make_images(tmp_path / "photos", count=10)
    return write_recipe(tmp_path / "base.toml", tmp_path / "photos", tmp_path / "runs", extra="")


def compare_file(tmp_path, variants: str) -> object:
    p = tmp_path / "cmp.toml"
    p.write_text(f'# colorkit compare cmp.toml\nname = "cmp"\nbase = "base.toml"\n[output]\ndir = "{tmp_path / "compare"}"\n[evaluate]\nsize = 32\ngrid = 2\nreference = "mse"\n{variants}')
    return p


def test_variants_share_data_seed_and_budget(tmp_path, base, builtin_host):
    p = compare_file(tmp_path, '[[variant]]\nname = "mse"\n[[variant]]\nname = "w2"\nset = ["loss.0.weight=2"]\n')
    spec = load_compare(p, vary=[], overrides=[], host=builtin_host, evaluate_override={})
    a, b = spec.variants["mse"], spec.variants["w2"]
    assert a.data == b.data and a.seed == b.seed == 1 and a.train == b.train
    assert b.loss[0].weight == 2 and a.loss[0].weight == 1
    unfair = compare_file(tmp_path, '[[variant]]\nname = "mse"\n[[variant]]\nname = "more"\n[variant.train]\nepochs = 9\n')
    with pytest.raises(RecipeError, match=r"variant 'more'.*train.epochs.*share"):
        load_compare(unfair, vary=[], overrides=[], host=builtin_host, evaluate_override={})


def test_vary_builds_loss_variants(base, builtin_host):
    spec = load_compare(base, vary=["loss=mse,l1"], overrides=[], host=builtin_host, evaluate_override={})
    assert list(spec.variants) == ["mse", "l1"]  # two variants really built, each with its own loss
    assert all(r.loss[0].name == n for n, r in spec.variants.items())
    with pytest.raises(RecipeError, match="unknown loss 'nope'"):
        load_compare(base, vary=["loss=mse,nope"], overrides=[], host=builtin_host, evaluate_override={})


def test_compare_end_to_end_and_resume_reuses_finished_variants(tmp_path, base):
    p = compare_file(tmp_path, '[[variant]]\nname = "mse"\n[[variant]]\nname = "w3"\nset = ["loss.0.weight=3"]\n')
    result = cli("compare", p)
    assert result.exit_code == 0, result.output
    (directory,) = (tmp_path / "compare").iterdir()
    for name in ("results.csv", "results.json", "results.md", "loss_curves.png", "metrics.png", "grid.png", "index.html", "compare.json"):
        assert (directory / name).is_file(), name
    rows = list(csv.DictReader((directory / "results.csv").open()))
    assert [r for r in rows if "mse" in str(r.values())] and len(rows) >= 3  # two variants + gray baseline
    data = json.loads((directory / "results.json").read_text())
    images = {v["name"]: v["images_seen"] for v in data["variants"]}
    assert images["mse"] == images["w3"] > 0  # the same budget
    assert "w3" in result.output and "gray" in result.output
    state = json.loads((directory / "compare.json").read_text())
    stamps = {n: (directory / "runs").joinpath(v["run_dir"]).stat().st_mtime for n, v in state["variants"].items()}
    again = cli("compare", "--resume", directory)
    assert again.exit_code == 0, again.output
    assert again.output.count("reusing finished variant") == 2
    assert {n: (directory / "runs").joinpath(v["run_dir"]).stat().st_mtime for n, v in state["variants"].items()} == stamps


def test_compare_state_keeps_the_recipe_order(tmp_path, base, builtin_host):
    from rich.console import Console

    from colorkit.training.compare import Comparison

    p = compare_file(tmp_path, '[[variant]]\nname = "zeta"\n[[variant]]\nname = "mse"\n[[variant]]\nname = "alpha"\n')
    spec = load_compare(p, vary=[], overrides=[], host=builtin_host, evaluate_override={"reference": None})
    created = Comparison.create(spec, "colorkit compare cmp.toml", builtin_host, Console(quiet=True))
    reopened = Comparison.open(created.dir, builtin_host, Console(quiet=True))
    assert list(reopened.state["variants"]) == ["zeta", "mse", "alpha"]
