"""User-facing errors: each one carries a single clear line for the CLI to print."""

from __future__ import annotations


class ColorkitError(Exception):
    """An expected failure (bad recipe, bad file, missing weights): shown as one line, no traceback."""

    exit_code = 2


class RecipeError(ColorkitError):
    """A recipe that cannot be used; the message names the file and the key."""


class RegistryError(ColorkitError):
    """An unknown, duplicated or invalid registry name."""


class ImageError(ColorkitError):
    """An image that cannot be read; the message names the file and the reason."""

    exit_code = 1

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CheckpointError(ColorkitError):
    """A checkpoint that is missing, corrupt or from another model."""


class WeightsUnavailableError(ColorkitError):
    """Pretrained weights were requested but cannot be downloaded or found."""
