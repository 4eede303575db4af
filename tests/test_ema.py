"""``train.ema``: the moving average of the weights is what validation scores and best.safetensors keeps,
and a run interrupted mid-epoch resumes with the same average as the uninterrupted run."""

import os
import signal
from pathlib import Path

import pytest
import torch

from colorkit.checkpoint import read_checkpoint
from colorkit.testing import cli, make_images, write_recipe
from colorkit.training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

DECAY = 0.6


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """12 photos, 1 held out, batch 4: 3 steps an epoch, two epochs."""
    root = tmp_path_factory.mktemp("ema")
    make_images(root / "photos", count=12, size=32)
    path = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    path.write_text(path.read_text().replace("epochs = 2", f"epochs = 2\nema = {DECAY}"))
    return path


def only_run(parent: Path) -> Path:
    (run,) = [p for p in parent.iterdir() if p.is_dir()]
    return run


def test_best_checkpoint_holds_the_moving_average_of_every_steps_weights(recipe, tmp_path, monkeypatch):
    seen: list[dict[str, torch.Tensor]] = []
    real = Trainer._train_step

    def train_step(self, batch):
        n = real(self, batch)
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return n

    monkeypatch.setattr(Trainer, "_train_step", train_step)
    result = cli("run", recipe, "--out", tmp_path, "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    assert len(seen) == 3
    expected = dict(seen[0])  # the first step copies the weights, each later one moves toward them
    for weights in seen[1:]:
        expected = {k: DECAY * e + (1 - DECAY) * weights[k] if e.is_floating_point() else weights[k] for k, e in expected.items()}
    best, _ = read_checkpoint(run / "checkpoints" / "best.safetensors")
    last, _ = read_checkpoint(run / "checkpoints" / "last.safetensors")
    floats = [k for k, v in expected.items() if v.is_floating_point()]
    for k in floats:
        torch.testing.assert_close(best[f"model.{k}"], expected[k])
        assert torch.equal(last[f"ema.module.{k}"], best[f"model.{k}"])
        assert torch.equal(last[f"model.{k}"], seen[-1][k])  # last keeps the network itself, to resume
    assert any(not torch.allclose(best[f"model.{k}"], seen[-1][k]) for k in floats)
    assert int(last["ema.n_averaged"]) == 3


def test_an_interrupted_run_resumes_with_the_same_average(recipe, tmp_path, monkeypatch):
    reference = cli("run", recipe, "--out", tmp_path / "reference")
    assert reference.exit_code == 0, reference.output
    real = Trainer._train_step

    def train_step(self, batch):
        n = real(self, batch)
        if self.state.step == 4:  # the first step of epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
        return n

    monkeypatch.setattr(Trainer, "_train_step", train_step)
    stopped = cli("run", recipe, "--out", tmp_path / "interrupted")
    assert stopped.exit_code == 143, stopped.output
    monkeypatch.undo()
    run = only_run(tmp_path / "interrupted")
    assert cli("run", "--resume", run).exit_code == 0
    for name in ("last", "best"):
        got, _ = read_checkpoint(run / "checkpoints" / f"{name}.safetensors")
        want, _ = read_checkpoint(only_run(tmp_path / "reference") / "checkpoints" / f"{name}.safetensors")
        assert sorted(got) == sorted(want)
        assert not [k for k in want if not torch.equal(got[k], want[k])]


@pytest.mark.parametrize("value", ["0", "1", "1.5"])
def test_a_decay_outside_0_to_1_is_refused_naming_the_key(recipe, value):
    result = cli("run", recipe, "--set", f"train.ema={value}")
    assert result.exit_code == 2, result.output
    assert "train.ema" in result.output


def test_ema_set_on_resume_starts_from_the_resumed_weights(recipe, tmp_path):
    plain = write_recipe(tmp_path / "plain.toml", recipe.parent / "photos", tmp_path)
    first = cli("run", plain, "--set", "train.epochs=1")
    assert first.exit_code == 0, first.output
    run = only_run(tmp_path)
    before, _ = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert not [k for k in before if k.startswith("ema.")]
    resumed = cli("run", "--resume", run, "--set", "train.epochs=2", "--set", f"train.ema={DECAY}")
    assert resumed.exit_code == 0, resumed.output
    after, _ = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert int(after["ema.n_averaged"]) == 3  # the three steps of epoch 2
