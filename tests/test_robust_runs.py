"""Interrupted and crashed runs: Ctrl-C, SIGTERM, kill -9, a full disk, foreign or corrupt checkpoints.

The reference is one uninterrupted tiny run; every interrupted run of the same recipe must end with
bit-identical weights, optimiser and RNG state (on CPU, one thread in every process).
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from colorkit import files
from colorkit.checkpoint import read_checkpoint
from colorkit.files import atomic_write_bytes, create_run_dir
from colorkit.testing import cli, make_images, write_recipe
from colorkit.training.trainer import RunLock, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

EPOCHS = 3  # 12 photos, 1 held out, batch 4: 3 steps an epoch, 9 in all


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("robust-runs")
    make_images(root / "photos", count=12, size=32)
    path = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    path.write_text(path.read_text().replace("epochs = 2", f"epochs = {EPOCHS}"))
    return path


@pytest.fixture(scope="module")
def reference(recipe) -> Path:
    """The uninterrupted run."""
    result = cli("run", recipe, "--out", recipe.parent / "reference")
    assert result.exit_code == 0, result.output
    (run,) = (recipe.parent / "reference").iterdir()
    return run


def only_run(parent: Path) -> Path:
    (run,) = [p for p in parent.iterdir() if p.is_dir()]
    return run


def state_of(run: Path) -> dict:
    return read_checkpoint(run / "checkpoints" / "last.safetensors")[1]["state"]


def assert_same_training(run: Path, reference: Path) -> None:
    """Weights, optimiser moments, RNG state and counters are identical to the reference run's."""
    got, meta = read_checkpoint(run / "checkpoints" / "last.safetensors")
    want, ref_meta = read_checkpoint(reference / "checkpoints" / "last.safetensors")
    assert sorted(got) == sorted(want)
    different = [k for k in want if not torch.equal(got[k], want[k])]
    assert not different, f"differ from the uninterrupted run: {different[:5]}"
    ignore = {"seconds"}
    assert {k: v for k, v in meta["state"].items() if k not in ignore} == {k: v for k, v in ref_meta["state"].items() if k not in ignore}
    epochs = [r["epoch"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]
    assert epochs == list(range(1, EPOCHS + 1))  # no epoch lost or logged twice
    assert not list(run.rglob(".*.tmp"))


def signal_at_step(monkeypatch, step: int, signum: int, times: int = 1) -> None:
    real = Trainer._train_step

    def train_step(self, batch):
        n = real(self, batch)
        if self.state.step == step:
            for _ in range(times):
                os.kill(os.getpid(), signum)
        return n

    monkeypatch.setattr(Trainer, "_train_step", train_step)


# --- Ctrl-C and SIGTERM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_epoch_saves_and_resumes_exactly(recipe, reference, tmp_path, monkeypatch, signum, code):
    signal_at_step(monkeypatch, 4, signum)  # the first step of epoch 2
    result = cli("run", recipe, "--out", tmp_path)
    run = only_run(tmp_path)
    assert result.exit_code == code, result.output
    assert "saved a resumable checkpoint" in result.output and "colorkit run --resume" in result.output
    assert "Traceback" not in result.output
    state = state_of(run)
    assert (state["epoch"], state["batch"], state["step"]) == (1, 1, 4) and state["epoch_count"] == 4
    monkeypatch.undo()
    resumed = cli("run", "--resume", run)
    assert resumed.exit_code == 0, resumed.output
    assert_same_training(run, reference)


def test_second_ctrl_c_stops_at_once_without_saving(recipe, tmp_path, monkeypatch):
    signal_at_step(monkeypatch, 5, signal.SIGINT, times=2)
    result = cli("run", recipe, "--out", tmp_path)
    assert result.exit_code == 130 and "stopped at once" in result.output and "Traceback" not in result.output
    state = state_of(only_run(tmp_path))  # the end-of-epoch-1 checkpoint, untouched
    assert (state["epoch"], state["batch"], state["step"]) == (1, 0, 3)


# --- kill -9 -----------------------------------------------------------------------------------------------

HANG_AT_STEP = """
import sys, time
from pathlib import Path
from colorkit.training.trainer import Trainer

real = Trainer._train_step

def train_step(self, batch):
    n = real(self, batch)
    if self.state.step == {step}:  # mid-epoch, after an optimiser step that is not checkpointed yet
        Path({marker!r}).write_text("hanging")
        time.sleep({seconds})
    return n

Trainer._train_step = train_step
from colorkit.cli import main
sys.argv = ["colorkit", "run", {recipe!r}, "--set", "train.checkpoint_every_steps=2", "--out", {out!r}, *{extra!r}]
main()
"""


def hang_at_step(recipe: Path, tmp_path: Path, step: int, seconds: float, *extra: str, new_session: bool = False) -> subprocess.Popen:
    """A real ``colorkit run`` that sleeps ``seconds`` after optimiser step ``step``; returns once it is there."""
    marker = tmp_path / "hanging"
    code = HANG_AT_STEP.format(step=step, seconds=seconds, marker=str(marker), recipe=str(recipe), out=str(tmp_path / "runs"), extra=list(extra))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(tmp_path / "log.txt", "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session)
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), (tmp_path / "log.txt").read_text()
    return proc


def test_kill_9_mid_epoch_then_resume_matches_the_uninterrupted_run(recipe, reference, tmp_path):
    """A real training process is killed with SIGKILL in the middle of epoch 2 (step 5; the last
    checkpoint is step 4, written because of checkpoint_every_steps = 2). --resume redoes step 5 on."""
    proc = hang_at_step(recipe, tmp_path, 5, 300)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL, (tmp_path / "log.txt").read_text()
    run = only_run(tmp_path / "runs")
    state = state_of(run)
    assert (state["epoch"], state["batch"], state["step"]) == (1, 1, 4)  # mid-epoch checkpoint
    resumed = cli("run", "--resume", run, "--set", "train.checkpoint_every_steps=2")
    assert resumed.exit_code == 0, resumed.output
    assert_same_training(run, reference)


def test_sigterm_to_the_whole_process_group_stops_as_cleanly_as_to_the_main_process(recipe, reference, tmp_path):
    """``kill -- -PGID``, SLURM and ``pkill -f`` reach the DataLoader workers too. They must leave the
    signal to the main process, which saves at the step boundary and shuts them down itself."""
    proc = hang_at_step(recipe, tmp_path, 5, 8, "--set", "data.workers=1", new_session=True)  # 8 s to send it in
    os.killpg(proc.pid, signal.SIGTERM)
    log = tmp_path / "log.txt"
    assert proc.wait(60) == 143, log.read_text()
    assert "interrupted: SIGTERM: saved a resumable checkpoint" in log.read_text() and "Traceback" not in log.read_text()
    run = only_run(tmp_path / "runs")
    state = state_of(run)
    assert (state["epoch"], state["batch"], state["step"]) == (1, 2, 5)  # saved after the step it was in
    resumed = cli("run", "--resume", run, "--set", "train.checkpoint_every_steps=2")
    assert resumed.exit_code == 0, resumed.output
    assert_same_training(run, reference)


def test_workers_that_ignore_sigterm_still_exit_when_their_main_process_is_killed(recipe, tmp_path):
    proc = hang_at_step(recipe, tmp_path, 5, 300, "--set", "data.workers=1")
    children = [int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert children, "no DataLoader worker to watch"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    deadline = time.monotonic() + 30  # torch's workers look for their parent every 5 s
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children), "an orphaned worker outlived its run"


# --- checkpoints that cannot be used ----------------------------------------------------------------------


def copy_run(reference: Path, tmp_path: Path) -> Path:
    run = tmp_path / reference.name
    shutil.copytree(reference, run)
    return run


def test_corrupt_and_foreign_checkpoints_are_refused_by_colorize(reference, tmp_path):
    good = reference / "checkpoints" / "best.safetensors"
    photo = next((reference.parent.parent / "photos").rglob("*.png"))
    tensors, meta = read_checkpoint(good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 1000)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    unet = tmp_path / "unet.safetensors"
    save_file(tensors, unet, metadata={"colorkit": json.dumps(dict(meta, model=dict(meta["model"], name="unet", args={"width": 8, "depth": 2})))})
    unknown = tmp_path / "unknown.safetensors"
    save_file(tensors, unknown, metadata={"colorkit": json.dumps(dict(meta, model=dict(meta["model"], name="nosuchnet")))})
    newer = tmp_path / "newer.safetensors"
    save_file(tensors, newer, metadata={"colorkit": json.dumps(dict(meta, format=99))})
    cases = {
        truncated: "not a readable safetensors checkpoint",
        garbage: "not a readable safetensors checkpoint",
        plain: "not a colorkit checkpoint",
        unet: "weights do not fit this model",
        unknown: "unknown model 'nosuchnet'",
        newer: "newer colorkit",
    }
    for path, message in cases.items():
        result = cli("colorize", path, photo, "-o", tmp_path / "out.png")
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, (path, result.output)
        assert str(path.name) in result.output or message.startswith("unknown model")
    assert not (tmp_path / "out.png").exists()


def test_resume_refuses_a_checkpoint_of_another_model_or_without_training_state(reference, tmp_path):
    run = copy_run(reference, tmp_path)
    last, best = run / "checkpoints" / "last.safetensors", run / "checkpoints" / "best.safetensors"
    tensors, meta = read_checkpoint(last)
    save_file(tensors, last, metadata={"colorkit": json.dumps(dict(meta, model=dict(meta["model"], args={"width": 16})))})
    result = cli("run", "--resume", run)
    assert result.exit_code == 2 and "checkpoint is for model" in result.output and "Traceback" not in result.output
    shutil.copy(best, last)  # weights only
    result = cli("run", "--resume", run)
    assert result.exit_code == 2 and "holds weights only" in result.output
    last.write_bytes(b"")  # a zero-byte file
    result = cli("run", "--resume", run)
    assert result.exit_code == 2 and "not a readable safetensors checkpoint" in result.output


# --- full disk, atomic writes, run directories ---------------------------------------------------------------


def enospc(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_gives_one_clear_line_and_keeps_the_last_good_checkpoint(reference, tmp_path, monkeypatch):
    """The disk fills up during the first checkpoint of a resumed run (simulated: fsync fails)."""
    run = copy_run(reference, tmp_path)
    last = run / "checkpoints" / "last.safetensors"
    before = last.read_bytes()
    real = Trainer._train_step

    def train_step(self, batch):
        monkeypatch.setattr(os, "fsync", enospc)  # from now on, every write fails
        return real(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", train_step)
    result = cli("run", "--resume", run, "--set", f"train.epochs={EPOCHS + 1}", "--set", "train.checkpoint_every_steps=1")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert "last.safetensors: could not write (No space left on device); the previous version is intact" in message
    assert "colorkit run --resume" in message
    assert last.read_bytes() == before and not list(run.rglob(".*.tmp"))
    assert state_of(run)["epoch"] == EPOCHS
    monkeypatch.undo()
    assert cli("run", "--resume", run).exit_code == 0  # space freed: it continues
    assert state_of(run)["epoch"] == EPOCHS + 1


def test_atomic_write_keeps_the_old_file_whatever_fails(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(files.ColorkitError, match="file.bin: could not write .No space left on device.; the previous version is intact"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["file.bin"]
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and oct(target.stat().st_mode & 0o777) != "0o600"


def test_run_directories_are_never_reused(tmp_path, monkeypatch):
    class Frozen:
        @staticmethod
        def now():
            from datetime import datetime

            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(files, "datetime", Frozen)
    (tmp_path / "x-20260102-030405").mkdir()
    (tmp_path / "x-20260102-030405" / "keep.txt").write_text("mine")
    made = [create_run_dir(tmp_path, "x").name for _ in range(3)]
    assert made == ["x-20260102-030405-1", "x-20260102-030405-2", "x-20260102-030405-3"]
    assert (tmp_path / "x-20260102-030405" / "keep.txt").read_text() == "mine"


def test_a_run_is_trained_by_one_process_at_a_time(reference, tmp_path):
    run = copy_run(reference, tmp_path)
    with RunLock(run):
        result = cli("run", "--resume", run, "--set", f"train.epochs={EPOCHS + 1}")
    assert result.exit_code == 2 and "another colorkit process is training this run" in result.output
    assert state_of(run)["epoch"] == EPOCHS


def test_resume_repairs_what_a_crash_leaves_behind(reference, tmp_path):
    """A line torn by a crash, a line of an epoch the checkpoint does not know, a temp file of a half write."""
    run = copy_run(reference, tmp_path)
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": EPOCHS + 1, "train_loss": 1.0}) + "\n" + '{"epoch": 5, "train_lo')
    (run / "checkpoints" / ".last.safetensors.abc123.tmp").write_bytes(b"half")
    result = cli("run", "--resume", run, "--set", f"train.epochs={EPOCHS + 1}")
    assert result.exit_code == 0, result.output
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, EPOCHS + 2)) and not list(run.rglob(".*.tmp"))
