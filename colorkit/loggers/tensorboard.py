"""TensorBoard: scalars and sample grids as event files in ``RUN_DIR/tensorboard/``.

View a run with ``tensorboard --logdir RUN_DIR/tensorboard``, every run under a folder with
``tensorboard --logdir runs/``, and every variant of a comparison with
``tensorboard --logdir COMPARE_DIR/runs``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from colorkit.errors import ColorkitError
from colorkit.loggers.base import Logger

SUBDIR = "tensorboard"
"""Folder of the event files inside the run directory."""


class TensorBoardLogger(Logger):
    """TensorBoard event files in RUN_DIR/tensorboard: loss terms, lr, images/s, validation metrics, sample grids."""

    def __init__(self, run_dir: Path, recipe: Any = None, start_step: int = 0, flush_secs: int = 30):
        super().__init__(run_dir, recipe, start_step)
        self.check_available()
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(run_dir) / SUBDIR
        # A resumed run drops what an interrupted attempt logged after its checkpoint (step > start_step).
        self.writer = SummaryWriter(str(self.log_dir), purge_step=start_step + 1 if start_step else None, flush_secs=flush_secs)

    @staticmethod
    def check_available() -> None:
        if importlib.util.find_spec("tensorboard") is None:
            raise ColorkitError("logger 'tensorboard' needs the tensorboard package: pip install tensorboard, or set [log] tensorboard = false")

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def log_image(self, step: int, name: str, image: np.ndarray) -> None:
        self.writer.add_image(name, image, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()
