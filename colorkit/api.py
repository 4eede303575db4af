"""colorkit's public API: train a recipe, load a colorizer, colour an array.

Everything here is also importable from ``colorkit`` itself (loaded on first use, so ``import
colorkit`` stays cheap)::

    import colorkit

    run = colorkit.train("recipes/cunet_mse.toml", overrides=["train.epochs=2"])
    colorizer = colorkit.load_colorizer(run)
    rgb = colorkit.colorize(colorizer, gray)  # (H, W) or (H, W, 3) uint8 -> (H, W, 3) uint8

Errors are :class:`colorkit.errors.ColorkitError` subclasses with a one-line message, as on the
command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console

from colorkit.training import distributed
from colorkit.errors import ColorkitError
from colorkit.inference.colorizer import Colorizer, find_checkpoint
from colorkit.recipe import Recipe, apply_overrides, load_recipe, parse_recipe
from colorkit.training.progress import NoProgress, RichProgress
from colorkit.training.trainer import resume_run, start_run

__all__ = ["colorize", "load_colorizer", "resolve_model", "train"]


def train(recipe: str | Path | Recipe | None = None, *, overrides: Sequence[str] = (), resume: str | Path | None = None,
          quiet: bool = False) -> Path:
    """Train from a recipe (a TOML file or a :class:`~colorkit.recipe.Recipe`), or continue the run
    directory ``resume``; returns the run directory. Like ``colorkit run [--resume RUN] --set ...``.

    ``overrides`` are dotted ``KEY=VALUE`` settings (``"train.epochs=80"``); with ``resume`` they are
    written back to the run's recipe.toml. ``quiet`` hides the progress bar (shown on stderr). ::

        run = colorkit.train("recipes/cunet_mse.toml", overrides=["train.max_images=2000"])
        colorkit.train(resume=run, overrides=["train.max_images=4000"])  # the same folder, trained further
    """
    if recipe is not None and resume is not None:
        raise ColorkitError("train: resume=RUN_DIR continues a run with its own recipe.toml; give no recipe with it")
    if recipe is None and resume is None:
        raise ColorkitError("train: give a recipe (a TOML file or a Recipe) or resume=RUN_DIR")
    console = Console(stderr=True, quiet=quiet)
    if resume is not None:
        trainer = resume_run(resume, overrides=list(overrides), console=console)
    elif isinstance(recipe, Recipe):
        raw = apply_overrides(recipe.model_dump(mode="json", exclude_none=True), list(overrides))
        trainer = start_run(parse_recipe(raw, "recipe"), console=console)
    else:
        trainer = start_run(load_recipe(recipe, list(overrides)), source=str(recipe), console=console)
    try:
        return trainer.run(NoProgress() if quiet else RichProgress(console)).run_dir
    finally:
        distributed.shutdown()  # leaves the torchrun process group; nothing to do in one process


def resolve_model(model: str | Path) -> Path:
    """The file a model argument names: a ``.onnx`` file, a checkpoint, or a run directory's best
    (else last) checkpoint. The one place where a model name becomes a file."""
    path = Path(model)
    return path if path.suffix.lower() == ".onnx" else find_checkpoint(path)


def load_colorizer(model: str | Path, *, device: str = "auto") -> Colorizer:
    """A :class:`~colorkit.inference.colorizer.Colorizer` for a run directory, a checkpoint or a
    ``.onnx`` file (see :func:`resolve_model`); ``device`` is "auto", "cpu", "cuda", "cuda:1", "mps". ::

        colorizer = colorkit.load_colorizer("runs/cunet_mse-20261126-111917", device="cpu")
        colorizer.size  # the network's resolution (photos of any size are coloured at their own)
    """
    return Colorizer.load(resolve_model(model), device=device)


def colorize(colorizer: Colorizer | str | Path, image: np.ndarray) -> np.ndarray:
    """Colour one photo: ``image`` is ``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8 (colour is treated
    as its lightness); returns ``(H, W, 3)`` uint8 RGB whose L is the photo's own at full resolution.
    ``colorizer`` is a loaded :class:`Colorizer` or anything :func:`load_colorizer` takes. ::

        gray = np.asarray(PIL.Image.open("grandma.jpg").convert("L"))
        rgb = colorkit.colorize("runs/cunet_mse-20261126-111917", gray)
        PIL.Image.fromarray(rgb).save("grandma_colour.png")
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape:
        raise ColorkitError(f"colorize: image must be uint8 (H, W) gray or (H, W, 3) RGB, got {image.dtype} {image.shape}")
    if not isinstance(colorizer, Colorizer):
        colorizer = load_colorizer(colorizer)
    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    return colorizer.colorize(rgb)
