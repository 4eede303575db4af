"""Ctrl-C and SIGTERM during training: stop at the next step boundary with a resumable checkpoint."""

from __future__ import annotations

import signal
import threading

from colorkit.errors import ColorkitError


class Interrupted(ColorkitError):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM after saving a resumable checkpoint."""

    prefix = "[yellow]interrupted:[/]"

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.exit_code = 128 + signum  # 130 for Ctrl-C, 143 for SIGTERM, as shells report them


class StopSignals:
    """While active, the first SIGINT or SIGTERM only sets ``signum``: the loop stops at the next step
    boundary and saves a consistent checkpoint. A second one raises KeyboardInterrupt at once."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}


def worker_init(worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C and SIGTERM to the main process, which stops cleanly and shuts
    them down. Both reach the workers too when sent to the process group (a terminal's Ctrl-C,
    ``kill -- -PGID``, SLURM, ``pkill -f``). A worker whose main process is gone still exits: torch's
    worker loop checks for its parent."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
