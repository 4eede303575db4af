"""``[distill]`` (colorkit/training/distill.py): teachers' mean colour computed once per training
image, a student that learns it, resumes that read the same targets, and bad teachers refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorkit import checkpoint as ckpt
from colorkit.build import build_model
from colorkit.data.dataset import build_datasets
from colorkit.data.lab import AB_SCALE
from colorkit.errors import ColorkitError, RecipeError
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import get_host
from colorkit.recipe import DistillConfig, load_recipe
from colorkit.testing import cli, make_images, write_recipe
from colorkit.training import distill

pytestmark = pytest.mark.usefixtures("one_thread")

CONSTANT = (0.25, -0.2)
"""The normalised ab the constant teacher paints everywhere."""


def run_once(recipe, out, *sets: str):
    result = cli("run", recipe, "--out", out, *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    return run


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny recipe, two trained teachers (runs of it with other seeds) and a constant one."""
    root = tmp_path_factory.mktemp("distill")
    make_images(root / "photos", count=12, size=32)
    recipe = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    teachers = [run_once(recipe, root / f"teacher{seed}", f"seed={seed}") for seed in (5, 6)]
    tensors, meta = ckpt.read_checkpoint(teachers[0] / "checkpoints" / "best.safetensors")
    model = build_model(meta["model"], get_host())
    ckpt.load_modules("teacher", tensors, {"model": model})
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor(CONSTANT))
    constant = root / "constant.safetensors"
    ckpt.save_checkpoint(constant, modules={"model": model}, meta=meta)
    return root, recipe, teachers, constant


def with_distill(setup, name: str, teachers: list, weight: float):
    root, recipe, _, _ = setup
    listed = ", ".join(f'"{t}"' for t in teachers)
    path = root / f"{name}.toml"
    path.write_text(recipe.read_text() + f"\n[distill]\nteachers = [{listed}]\nweight = {weight}\n")
    return path


def test_targets_are_the_mean_of_each_teacher_on_the_photo_and_its_mirror(setup, tmp_path):
    root, recipe, teachers, _ = setup
    config = load_recipe(recipe)
    data = build_datasets(config.data.resolved(), config.seed)
    held = distill.targets(tmp_path, data.train, DistillConfig(teachers=[str(t) for t in teachers]), 32, torch.device("cpu"), get_host(), say=lambda _: None)
    assert held.shape == (len(data.train), 2, 32, 32) and held.dtype == np.float16
    colorizers = [Colorizer.load(t, device="cpu") for t in teachers]
    for i in (0, len(data.train) - 1):
        photo = data.train[i]["rgb"].permute(1, 2, 0).numpy()
        mirror = np.ascontiguousarray(photo[:, ::-1])
        want = sum((c.predict_many([photo]) + c.predict_many([mirror]).flip(-1)) / 2 for c in colorizers) / len(colorizers) / AB_SCALE
        np.testing.assert_allclose(held[i].astype(np.float32), want[0].numpy(), atol=2e-3)
        assert not np.allclose(held[i], 0)


def test_targets_are_read_back_from_the_run_and_a_wrong_shape_is_refused(setup, tmp_path, monkeypatch):
    _, recipe, teachers, _ = setup
    config = load_recipe(recipe)
    data = build_datasets(config.data.resolved(), config.seed)
    teach = DistillConfig(teachers=[str(teachers[0])])
    first = np.array(distill.targets(tmp_path, data.train, teach, 32, torch.device("cpu"), get_host(), say=lambda _: None))
    assert not (tmp_path / "distill_ab.partial.npy").exists()
    monkeypatch.setattr(distill, "load_teachers", lambda *a: pytest.fail("the teachers ran again"))
    again = distill.targets(tmp_path, data.train, teach, 32, torch.device("cpu"), get_host(), say=lambda _: None)
    assert np.array_equal(first, again)
    with pytest.raises(ColorkitError, match="distill_ab.npy: holds targets of shape .*delete it"):
        distill.targets(tmp_path, data.train, teach, 16, torch.device("cpu"), get_host(), say=lambda _: None)


def predicted_ab(run) -> torch.Tensor:
    """The mean ab (normalised) the run's last weights predict over the generated photos (best.safetensors is chosen against the truth)."""
    colorizer = Colorizer.load(run / "checkpoints" / "last.safetensors", device="cpu")
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((run.parent.parent / "photos").rglob("img_*"))]
    return colorizer.predict_many(photos).mean(dim=(0, 2, 3)) / AB_SCALE


def test_a_student_learns_the_teachers_colour_and_resumes_exactly(setup):
    root, recipe, _, constant = setup
    taught = with_distill(setup, "taught", [constant], 1.0)
    plain = run_once(recipe, root / "plain", "train.epochs=10", "optim.lr=0.01")
    student = run_once(taught, root / "student", "train.epochs=10", "optim.lr=0.01")
    want = torch.tensor(CONSTANT)
    assert (predicted_ab(student) - want).norm() < 0.5 * (predicted_ab(plain) - want).norm()
    metrics = (student / "metrics.jsonl").read_text().splitlines()
    assert '"teachers"' in metrics[-1] and '"val_total"' in metrics[-1]
    assert (student / "distill_ab.npy").is_file()
    split = run_once(taught, root / "split", "train.epochs=4", "optim.lr=0.01")
    result = cli("run", "--resume", split, "--set", "train.epochs=10")
    assert result.exit_code == 0, result.output
    assert "coloured" not in result.output  # the targets were read back, not computed again
    whole, _ = ckpt.read_checkpoint(student / "checkpoints" / "last.safetensors")
    resumed, _ = ckpt.read_checkpoint(split / "checkpoints" / "last.safetensors")
    assert [k for k in whole if k.startswith("model.") and not torch.equal(whole[k], resumed[k])] == []


def test_half_weight_trains_other_weights_than_the_truth_alone(setup):
    root, recipe, teachers, _ = setup
    plain = run_once(recipe, root / "plain_half")
    half = run_once(with_distill(setup, "half", teachers, 0.5), root / "half")
    a, _ = ckpt.read_checkpoint(plain / "checkpoints" / "last.safetensors")
    b, _ = ckpt.read_checkpoint(half / "checkpoints" / "last.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("model."))


def test_a_teacher_that_is_not_a_model_is_refused_before_the_run(setup):
    root = setup[0]
    bad = with_distill(setup, "bad", [root / "no_such_run"], 0.5)
    result = cli("run", bad, "--out", root / "never")
    assert result.exit_code == 2
    assert "distill.teachers.0" in result.output and "no_such_run" in result.output
    assert not (root / "never").exists() or not any((root / "never").iterdir())


@pytest.mark.parametrize("table", ["teachers = []", 'teachers = ["faces-scenes"]\nweight = 0', 'teachers = ["faces-scenes"]\nweight = 1.5'])
def test_distill_out_of_range_is_refused_naming_the_key(setup, table):
    root, recipe, _, _ = setup
    bad = root / "range.toml"
    bad.write_text(recipe.read_text() + f"\n[distill]\n{table}\n")
    with pytest.raises(RecipeError, match="distill"):
        load_recipe(bad)


def test_distill_on_the_sample_photos_is_refused(setup):
    root = setup[0]
    bad = root / "sample.toml"
    bad.write_text('name = "s"\n[train]\nepochs = 1\n[distill]\nteachers = ["faces-scenes"]\n')
    with pytest.raises(RecipeError, match='distill: the "sample" source'):
        load_recipe(bad)


def test_distill_with_hints_is_refused(setup):
    root, recipe, _, _ = setup
    bad = root / "hinted.toml"
    bad.write_text(recipe.read_text() + '\n[hints]\n\n[distill]\nteachers = ["faces-scenes"]\n')
    with pytest.raises(RecipeError, match="distill: the teachers colour without hints"):
        load_recipe(bad)
