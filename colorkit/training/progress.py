"""Progress of a training run, as a callback its caller passes to :meth:`Trainer.run`.

The trainer only reports (:class:`ProgressReporter`); the caller decides what is shown: the command
line and ``colorkit.train`` pass a :class:`RichProgress` bar, quiet callers :class:`NoProgress`.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressReporter(Protocol):
    """What a training run reports: its size in images once, then each step's images and a status line."""

    def start(self, description: str, total: int, completed: int) -> None: ...

    def advance(self, images: int, info: str) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Reports nothing."""

    def start(self, description: str, total: int, completed: int) -> None:
        pass

    def advance(self, images: int, info: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """A Rich bar on ``console``: images done of the budget, loss, learning rate and speed, elapsed and remaining time."""

    def __init__(self, console: Console):
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} img"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None

    def start(self, description: str, total: int, completed: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task(description, total=total, completed=completed, info="")

    def advance(self, images: int, info: str) -> None:
        self.bar.update(self.task, advance=images, info=info)

    def close(self) -> None:
        self.bar.stop()
