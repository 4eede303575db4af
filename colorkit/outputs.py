"""One contract for every command that writes files: an output never replaces one of the command's
inputs, a model it reads, or another output of the same command.

Paths are compared as files, not as strings: an existing file by its device and inode (so a symlink
or a hard link to an input is that input), a file still to be written by its real path
(``os.path.realpath``, symlinked folders resolved). Commands declare what they read, then claim each
target before any work: before loading the model, before colouring anything.
"""

from __future__ import annotations

import errno
import fnmatch
import os
from pathlib import Path
from typing import Callable, Iterable

from colorkit.errors import ColorkitError

RUN_RESULTS = "evaluate-*.json"
"""Files that commands write into a run directory themselves (earlier results of ``evaluate``): an
output may replace them. Every other file of a run directory that a command reads is protected."""


class OutputConflict(ColorkitError):
    """An output that would replace an input, a model or another output of the same command."""


def file_key(path: str | Path) -> tuple:
    """What makes two paths one file: device and inode where the file exists (symlinks followed),
    else the real path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return ("path", os.path.realpath(path))
    return ("file", st.st_dev, st.st_ino)


def input_problem(path: str | Path) -> str | None:
    """``PATH: REASON`` when ``path`` cannot be read as an input file (a symbolic link loop, a dangling
    link, a missing file), else None. Never raises, whatever the links."""
    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        if getattr(exc, "errno", None) == errno.ELOOP:
            return f"{path}: cannot read: a symbolic link loop (the link leads back to itself)"
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"{path}: cannot read: a dangling symbolic link (its target {target} does not exist)"
        if getattr(exc, "errno", None) == errno.ENOENT:
            return f"{path}: no such file or folder"
        return f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
    return None


def run_directory(model: Path) -> Path | None:
    """The run directory ``model`` is, or whose ``checkpoints/`` holds it; None for a lone file."""
    if (model / "checkpoints").is_dir():
        return model
    if model.parent.name == "checkpoints" and model.is_file():
        return model.parent.parent
    return None


class Outputs:
    """The files one command reads and the files it has claimed to write.

    ``remedy`` ends every refusal: what the user can change ("choose another -o").
    """

    def __init__(self, remedy: str = "choose another -o"):
        self.remedy = remedy
        self._read: dict[tuple, str] = {}
        self._written: dict[tuple, str] = {}

    def reads(self, *paths: str | Path, what: str = "the input") -> "Outputs":
        """Protect ``paths`` (files; a missing one is harmless) as ``what``."""
        for path in paths:
            self._read.setdefault(file_key(path), f"{what} {path}")
        return self

    def reads_model(self, model: str | Path) -> "Outputs":
        """Protect a checkpoint or ONNX model and, when it is or lies in a run directory, every file of
        that run except earlier evaluation results (:data:`RUN_RESULTS`)."""
        model = Path(model)
        if not model.is_dir():
            self.reads(model, what="the model")
        run = run_directory(model)
        if run is None:
            return self
        for dirpath, _, names in os.walk(run):
            for name in names:
                if not (dirpath == str(run) and fnmatch.fnmatch(name, RUN_RESULTS)):
                    path = Path(dirpath) / name
                    self._read.setdefault(file_key(path), f"a file of the run directory {run} ({path.relative_to(run)})")
        return self

    def refusal(self, *targets: str | Path, owner: str | Path | None = None) -> str | None:
        """Why ``targets`` (the files of one job) may not be written, or None once they are claimed
        (for ``owner``, the input they come from, named when a later job wants one of them too)."""
        owner = str(owner if owner is not None else targets[0])
        keys: list[tuple] = []
        for target in targets:
            key = file_key(target)
            if key in self._read:
                return f"{target} would overwrite {self._read[key]}"
            if key in self._written or key in keys:
                return f"{target} is also an output of {self._written.get(key, owner)}"
            keys.append(key)
        for key in keys:
            self._written[key] = owner
        return None

    def claim(self, *targets: str | Path, owner: str | Path | None = None) -> None:
        """Claim ``targets`` or raise :class:`OutputConflict` with one line naming the file and why."""
        reason = self.refusal(*targets, owner=owner)
        if reason is not None:
            raise OutputConflict(f"{reason}; {self.remedy}")


def screen(
    jobs: Iterable[tuple[Path, Path]], outputs: Outputs, *, targets: Callable[[Path], tuple[Path, ...]] = lambda dst: (dst,),
    verb: str = "not written",
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Split ``(source, destination)`` jobs into those to do and refusals (``SOURCE: REASON``).

    Every source is protected first; then, in order, a source that cannot be read (:func:`input_problem`)
    or whose ``targets(destination)`` would replace an input, the model or an earlier job's output is refused."""
    jobs = list(jobs)
    outputs.reads(*(src for src, _ in jobs))
    usable, refused = [], []
    for src, dst in jobs:
        bad = input_problem(src)
        clash = None if bad else outputs.refusal(*targets(dst), owner=src)
        if bad or clash:
            refused.append(bad or f"{src}: {verb}: {clash}; {outputs.remedy}")
        else:
            usable.append((src, dst))
    return usable, refused
