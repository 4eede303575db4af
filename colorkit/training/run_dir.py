"""The run directory: created with its resolved recipe and environment, locked while a process
trains it, repaired (temp files, metrics newer than the checkpoint) before a resume."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import torch

import colorkit
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_json, atomic_write_text, create_run_dir, read_jsonl
from colorkit.recipe import Recipe


def environment(device: torch.device, host) -> dict:
    """What env.json records: versions, platform, device and every plugin."""
    return {
        "colorkit": colorkit.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "device": str(device) if device.type != "cuda" else f"{device} ({torch.cuda.get_device_name(device)})",
        "torch_threads": torch.get_num_threads(),
        "plugins": {p.name: {"version": p.version, "source": p.source, "errors": p.errors} for p in host.plugins},
    }


class RunLock:
    """``RUN/.lock``, held with ``flock`` from the moment a process claims a run directory until it is done
    with it, so two processes never train (or resume, or repair) one run at once. The lock dies with its
    process, ``kill -9`` included. A context manager that releases it on exit."""

    def __init__(self, run_dir: Path):
        self.file = None
        try:
            import fcntl
        except ImportError:  # not on Windows
            return
        f = open(run_dir / ".lock", "a")  # "a": an existing lock file is never truncated
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise ColorkitError(f"{run_dir}: another colorkit process is training this run; wait for it or stop it first") from None
        self.file = f

    def release(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def create(recipe: Recipe) -> Path:
    """A new, empty run directory ``output.dir/NAME-TIMESTAMP`` with its checkpoints/ and samples/."""
    run_dir = create_run_dir(recipe.output.dir, recipe.name)
    (run_dir / "checkpoints").mkdir()
    (run_dir / "samples").mkdir()
    return run_dir


def write_recipe(run_dir: Path, recipe: Recipe, note: str) -> None:
    """The run's recipe.toml, resolved, headed by ``note`` (the command that continues it)."""
    atomic_write_text(run_dir / "recipe.toml", recipe.to_toml(note))


def write_environment(run_dir: Path, device: torch.device, host, world_size: int) -> None:
    atomic_write_json(run_dir / "env.json", dict(environment(device, host), world_size=world_size))


def check_resumable(run_dir: Path) -> None:
    """A ColorkitError unless ``run_dir`` is a run directory with a last checkpoint."""
    if not (run_dir / "recipe.toml").is_file():
        raise ColorkitError(f"{run_dir}: not a run directory (no recipe.toml)")
    if not (run_dir / "checkpoints" / "last.safetensors").is_file():
        raise ColorkitError(f"{run_dir}: no checkpoints/last.safetensors to resume from")


def repair(run_dir: Path, epoch: int) -> None:
    """Undo what a crash leaves behind, for a resume from a checkpoint at ``epoch``: temp files of
    half-done atomic writes, and metrics.jsonl lines the checkpoint does not know (later epochs, a torn line)."""
    for tmp in run_dir.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    keep = [json.dumps(r, sort_keys=True) for r in read_jsonl(path) if r.get("epoch", 0) <= epoch]
    if keep != lines:
        atomic_write_text(path, "".join(line + "\n" for line in keep))

