"""No training on nothing: data that yields no usable image stops a run before it trains, an epoch
without an optimiser step is an error, and NaN never becomes a best checkpoint or a metric."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from rich.console import Console

from colorkit.checkpoint import read_checkpoint
from colorkit.errors import ColorkitError
from colorkit.testing import cli, make_images, write_recipe
from colorkit.training.trainer import Trainer, resume_run

pytestmark = pytest.mark.usefixtures("one_thread")

QUIET = Console(quiet=True)


def refused(result, *phrases: str) -> str:
    """The one error line of a refused command (exit 2, no traceback), checked for ``phrases``."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def corrupt(folder: Path, count: int, prefix: str = "bad") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{prefix}_{i}.{'png' if i % 2 else 'jpg'}" for i in range(count)]
    for i, p in enumerate(paths):
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (i + 1) if i % 2 else b"\xff\xd8\xff" + b"garbage" * 40)
    return paths


def tiny_recipe(tmp_path: Path, data: Path, extra_data: str = "", train: str = "epochs = 2") -> Path:
    path = write_recipe(tmp_path / "tiny.toml", data, tmp_path / "runs")
    text = path.read_text().replace("size = 32", f"size = 32\ncache = false\n{extra_data}").replace("epochs = 2", train)
    path.write_text(text)
    return path


def no_runs(tmp_path: Path) -> bool:
    runs = tmp_path / "runs"
    return not runs.exists() or not any(runs.iterdir())


def strict_json_lines(path: Path) -> list[dict]:
    """Every line of ``path`` as strict JSON: NaN or Infinity fail the test."""

    def reject(name):
        raise AssertionError(f"{path}: non-standard JSON constant {name}")

    return [json.loads(line, parse_constant=reject) for line in path.read_text().splitlines()]


# --- before training -------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", ["epochs = 2", "max_images = 64"])
def test_an_all_corrupt_folder_stops_before_training_and_leaves_no_run(tmp_path, budget):
    """The issue's example, with an epoch budget and with only max_images (which looped forever)."""
    bad = corrupt(tmp_path / "photos", 6)
    recipe = tiny_recipe(tmp_path, tmp_path / "elsewhere", train=budget)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "colorkit", "run", str(recipe), "--data", str(tmp_path / "photos")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "none of the 5 training images can be read" in lines[0] and "training not started" in lines[0], lines[0]
    assert any(p.name in lines[0] for p in bad)  # names a file and its reason
    assert no_runs(tmp_path)


def test_an_all_corrupt_validation_set_stops_before_training(tmp_path):
    make_images(tmp_path / "photos", count=6, size=32)
    bad = corrupt(tmp_path / "photos" / "val", 3)
    (tmp_path / "train.txt").write_text("\n".join(str(p.relative_to(tmp_path / "photos")) for p in (tmp_path / "photos").rglob("img_*")))
    (tmp_path / "val.txt").write_text("\n".join(str(p.relative_to(tmp_path / "photos")) for p in bad))
    recipe = tiny_recipe(tmp_path, tmp_path / "photos")
    result = cli("run", recipe, "--split", tmp_path / "train.txt", "--val-split", tmp_path / "val.txt")
    refused(result, "none of the 3 validation images can be read", "val_fraction = 0")
    assert no_runs(tmp_path)


def test_a_held_out_validation_share_that_is_all_corrupt_stops_too(tmp_path):
    """Without a split file: the seeded val_fraction happens to pick only bad files (here, all bad but training's)."""
    make_images(tmp_path / "photos", count=1, size=32)
    corrupt(tmp_path / "photos", 9)
    recipe = tiny_recipe(tmp_path, tmp_path / "photos", extra_data="val_fraction = 0.5")
    line = refused(cli("run", recipe), "none of the")
    # the one good photo went either to validation (no training image) or to training (no validation image)
    assert "training not started" in line or "val_fraction = 0" in line
    assert no_runs(tmp_path)


@pytest.mark.parametrize("which", ["train", "val"])
def test_a_split_file_listing_only_missing_files_is_refused(tmp_path, which):
    make_images(tmp_path / "photos", count=6, size=32)
    names = sorted(str(p.relative_to(tmp_path / "photos")) for p in (tmp_path / "photos").rglob("img_*"))
    (tmp_path / "good.txt").write_text("\n".join(names))
    (tmp_path / "gone.txt").write_text("gone_1.png\nsub/gone_2.jpg\n")
    split, val_split = ("gone.txt", "good.txt") if which == "train" else ("good.txt", "gone.txt")
    recipe = tiny_recipe(tmp_path, tmp_path / "photos")
    result = cli("run", recipe, "--split", tmp_path / split, "--val-split", tmp_path / val_split)
    refused(result, "no training images found" if which == "train" else "data.val_split: none of the files listed in")
    assert no_runs(tmp_path)


def test_a_folder_with_some_bad_files_still_trains(tmp_path):
    """The probe costs one decode: a folder with a few bad files trains and counts them."""
    make_images(tmp_path / "photos", count=6, size=32)
    corrupt(tmp_path / "photos", 3)
    recipe = tiny_recipe(tmp_path, tmp_path / "photos", train="max_images = 8")
    result = cli("run", recipe)
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    record = strict_json_lines(run / "metrics.jsonl")[-1]
    assert record["bad_files"] == 3 and record["images"] >= 8


# --- during training ----------------------------------------------------------------------------------------


@pytest.fixture
def trained(tmp_path) -> Path:
    """A run of one epoch on 8 good photos (2 steps of 4), with max_images as its only budget."""
    make_images(tmp_path / "photos", count=9, size=32)
    recipe = tiny_recipe(tmp_path, tmp_path / "photos", train="max_images = 8")
    result = cli("run", recipe)
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    return run


def snapshot(run: Path) -> dict:
    return {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()} | {"metrics": (run / "metrics.jsonl").read_bytes()}


ONE_MORE_EPOCH = ["train.max_images=1000000", "train.epochs=2"]


@pytest.mark.parametrize("budget", [["train.max_images=1000000"], ONE_MORE_EPOCH])
def test_an_epoch_without_a_step_is_an_error_and_keeps_the_last_good_checkpoint(trained, budget):
    """The training photos become unreadable after the run was built: the epoch trains nothing.
    With max_images as the only budget this looped for ever."""
    before = snapshot(trained)
    trainer = resume_run(trained, overrides=budget, console=QUIET)
    corrupt_in_place(trainer.data.train.files)
    with pytest.raises(ColorkitError) as caught, deadline(120):
        trainer.run()
    message = str(caught.value)
    assert "epoch 2: no training image could be read" in message and "nothing was trained" in message
    assert f"colorkit run --resume {trained}" in message
    assert snapshot(trained) == before
    assert [r["epoch"] for r in strict_json_lines(trained / "metrics.jsonl")] == [1]


def test_validation_images_that_become_unreadable_are_an_error(trained):
    before = snapshot(trained)
    trainer = resume_run(trained, overrides=ONE_MORE_EPOCH, console=QUIET)
    corrupt_in_place(trainer.data.val.files)
    with pytest.raises(ColorkitError, match=r"epoch 2: none of the 1 validation images could be read"):
        trainer.run()
    assert snapshot(trained) == before


@contextmanager
def deadline(seconds: int):
    """Fail (rather than hang) when the block runs for ever."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def corrupt_in_place(files: list[Path]) -> None:
    for f in files:
        f.write_bytes(b"truncated")


def test_nan_validation_never_becomes_best_or_a_metric(trained, monkeypatch):
    """The network's weights turn non-finite during epoch 2 (as a diverging BatchNorm does):
    one line, no best checkpoint of that epoch, no NaN in metrics.jsonl."""
    before = snapshot(trained)
    real = Trainer.validate

    def poisoned(self):
        with torch.no_grad():
            next(self.model.parameters()).fill_(float("nan"))
        return real(self)

    monkeypatch.setattr(Trainer, "validate", poisoned)
    result = cli("run", "--resume", trained, *[a for kv in ONE_MORE_EPOCH for a in ("--set", kv)])
    line = refused(result, "epoch 2:", "val_total = nan", "training diverged", "neither logged nor saved as best")
    assert "lower optim.lr" in line
    after = snapshot(trained)
    assert after["best.safetensors"] == before["best.safetensors"]
    assert after["metrics"] == before["metrics"]
    assert [r["epoch"] for r in strict_json_lines(trained / "metrics.jsonl")] == [1]
    assert not list((trained / "samples").glob("epoch-0002.png"))  # no grid of a NaN prediction


def test_an_older_run_with_a_nan_best_still_saves_a_new_best(trained):
    """A run written before this check may hold best = NaN in its state; a resumed epoch replaces it."""
    trainer = resume_run(trained, overrides=ONE_MORE_EPOCH, console=QUIET)
    trainer.state.best = float("nan")
    best = trained / "checkpoints" / "best.safetensors"
    old = best.read_bytes()
    trainer.run()
    assert best.read_bytes() != old
    assert read_checkpoint(best)[1]["model"] == trainer.model_spec


# --- a refused or failed resume changes nothing --------------------------------------------------------------


def fingerprint(run: Path) -> dict:
    """Every file and folder under ``run`` (hidden ones too) with its bytes' hash."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(run.rglob("*"))}


def test_a_resume_refused_during_a_live_run_changes_nothing(tmp_path):
    """A real training process is running; it is frozen (SIGSTOP, still holding its lock) so that its own
    writes cannot blur the comparison. Every resume attempt is refused with one line, and the run
    directory is byte for byte as it was. Then the live run goes on and stops cleanly on SIGTERM."""
    make_images(tmp_path / "photos", count=12, size=32)
    recipe = tiny_recipe(tmp_path, tmp_path / "photos", train="epochs = 100000\ncheckpoint_every = 1000\ncheckpoint_every_steps = 2")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(tmp_path / "live.log", "w") as log:
        live = subprocess.Popen([sys.executable, "-m", "colorkit", "run", str(recipe)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        run = None
        while time.monotonic() < deadline and live.poll() is None:
            runs = list((tmp_path / "runs").glob("tiny-*")) if (tmp_path / "runs").is_dir() else []
            if runs and (runs[0] / "checkpoints" / "last.safetensors").is_file() and len(read_lines(runs[0] / "metrics.jsonl")) >= 3:
                run = runs[0]
                break
            time.sleep(0.1)
        assert run is not None, (tmp_path / "live.log").read_text()
        live.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        before, recipe_toml = fingerprint(run), (run / "recipe.toml").read_bytes()
        attempts = {
            ("--set", "train.epochs=200000"): "another colorkit process is training this run",
            ("--set", "model.args.width=16"): "another colorkit process is training this run",
            ("--set", "train.epochs=0"): "train.epochs",  # an invalid override: refused before the lock is even asked
            ("--set", "train.nosuchkey=1"): "nosuchkey",
        }
        for args, phrase in attempts.items():
            refused(cli("run", "--resume", run, *args), phrase)
            assert fingerprint(run) == before, args
    finally:
        live.send_signal(signal.SIGCONT)
        live.send_signal(signal.SIGTERM)
        code = live.wait(120)
    assert code == 143, (tmp_path / "live.log").read_text()
    assert "interrupted: SIGTERM: saved a resumable checkpoint" in (tmp_path / "live.log").read_text()
    epochs = [r["epoch"] for r in strict_json_lines(run / "metrics.jsonl")]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) >= 3  # nothing trimmed under the live run
    assert (run / "recipe.toml").read_bytes() == recipe_toml


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def test_a_failed_resume_changes_nothing(trained):
    """A checkpoint that does not load, another model, data that became unusable: refused with one line,
    and the temp file, the metrics line newer than the checkpoint and recipe.toml are all left alone.
    The repairs happen only on a resume that succeeds."""
    with open(trained / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 7, "train_loss": 1.0}) + "\n")
    (trained / "checkpoints" / ".last.safetensors.abc.tmp").write_bytes(b"half")
    last = trained / "checkpoints" / "last.safetensors"
    good = last.read_bytes()
    sets = [a for kv in ONE_MORE_EPOCH for a in ("--set", kv)]
    before = fingerprint(trained)
    refused(cli("run", "--resume", trained, *sets, "--set", "model.args.width=16"), "checkpoint is for model")
    assert fingerprint(trained) == before
    last.write_bytes(good[: len(good) // 2])
    before = fingerprint(trained)
    refused(cli("run", "--resume", trained, *sets), "not a readable safetensors checkpoint")
    assert fingerprint(trained) == before
    last.write_bytes(good)
    photos = sorted((trained.parent.parent / "photos").rglob("img_*"))
    kept = {p: p.read_bytes() for p in photos}
    corrupt_in_place(photos)
    before = fingerprint(trained)
    refused(cli("run", "--resume", trained, *sets), "none of the 8 training images can be read")
    assert fingerprint(trained) == before
    for p, data in kept.items():
        p.write_bytes(data)
    result = cli("run", "--resume", trained, *sets)
    assert result.exit_code == 0, result.output
    assert [r["epoch"] for r in strict_json_lines(trained / "metrics.jsonl")] == [1, 2]
    assert not list(trained.rglob(".*.tmp")) and "resumed with --set" in (trained / "recipe.toml").read_text()
