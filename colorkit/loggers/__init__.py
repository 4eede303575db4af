"""Built-in experiment trackers, registered through the same hook a third-party plugin uses.

One logger per module. ``tensorboard`` is on by default (``[log] tensorboard = true``); others are
chosen with ``[log] loggers = ["mlflow"]``. See :mod:`colorkit.loggers.base` for the contract and
:func:`open_loggers`, which the trainer uses.
"""

from colorkit.hookspecs import hookimpl
from colorkit.loggers.base import Logger, Loggers, logger_names, open_loggers
from colorkit.loggers.mlflow import MLflowLogger
from colorkit.loggers.tensorboard import TensorBoardLogger

__all__ = ["Logger", "Loggers", "MLflowLogger", "TensorBoardLogger", "logger_names", "open_loggers"]


@hookimpl
def colorkit_register_loggers(register):
    register("tensorboard", TensorBoardLogger)
    register("mlflow", MLflowLogger)
