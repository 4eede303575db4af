"""``colorkit run``: train from a recipe, or resume a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.data.images import printable
from colorkit.errors import ColorkitError
from colorkit.training.progress import RichProgress

if TYPE_CHECKING:
    from colorkit.training.trainer import TrainResult


@catch_errors
def run(
    recipe: Optional[Path] = typer.Argument(None, help="Recipe file (TOML). Not needed with --resume."),
    set_: List[str] = typer.Option([], "--set", help="Override a key, e.g. --set train.lr=1e-4 (repeatable)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Train on this image folder instead of data.source."),
    split: Optional[Path] = typer.Option(None, "--split", help="File listing the training images in --data."),
    val_split: Optional[Path] = typer.Option(None, "--val-split", help="File listing the validation images in --data."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Parent folder of the run directory (output.dir)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue this run directory from its last checkpoint."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout instead of a table."),
) -> None:
    """Train a model from a TOML recipe; each run writes its own directory under runs/."""
    from colorkit.recipe import load_recipe  # imports torch: loaded when used, not for --help
    from colorkit.training import distributed
    from colorkit.training.trainer import resume_run, start_run

    if resume is not None:
        if recipe is not None or data or split or val_split or out_dir:
            raise ColorkitError("--resume continues a run with its own recipe.toml; only --set (e.g. a larger train.epochs) may change it")
        trainer = resume_run(resume, overrides=list(set_), console=err)
        trainer.console.print(f"resuming [bold]{resume}[/] at epoch {trainer.state.epoch}, {trainer.state.images} images seen")
    else:
        if recipe is None:
            raise ColorkitError("give a recipe file, e.g. colorkit run recipes/cunet_mse.toml, or --resume RUN_DIR")
        paths = {"data.source": data, "data.train_split": split, "data.val_split": val_split, "output.dir": out_dir}
        values = {key: str(path) for key, path in paths.items() if path is not None}  # as typed: no quoting, any bytes
        trainer = start_run(load_recipe(recipe, list(set_), values), source=str(recipe), console=err)
        shown = escape(printable(str(trainer.run_dir)))
        trainer.console.print(f"run directory [bold]{shown}[/] (seed {trainer.seed}, device {trainer.device})", highlight=False, soft_wrap=True)
    try:
        result = trainer.run(RichProgress(trainer.console))
    finally:
        distributed.shutdown()  # leaves the torchrun process group; nothing to do in one process
    if trainer.world.main:
        _summary(result, as_json)


def _summary(r: TrainResult, as_json: bool = False) -> None:
    from colorkit.training.trainer import read_metrics

    records = read_metrics(r.run_dir) or [{}]
    last = records[-1]
    tensorboard = r.run_dir / "tensorboard"
    if as_json:
        keys = ("epochs", "steps", "images", "seconds", "stopped", "train_loss", "val_loss", "bad_files", "start_val", "best_epoch")
        print_json(dict({k: getattr(r, k) for k in keys}, run_dir=str(r.run_dir), images_per_s=r.images_per_s, last=last,
                        tensorboard=str(tensorboard) if tensorboard.is_dir() else None))
        return
    table = Table(title=f"run {r.run_dir.name}", show_header=False)
    rows = [
        ("run directory", str(r.run_dir)),
        ("stopped", r.stopped),
        ("epochs / steps", f"{r.epochs} / {r.steps}"),
        ("images seen", str(r.images)),
        ("training time", f"{r.seconds:.1f} s ({r.images_per_s:.1f} img/s)"),
        ("final train loss", f"{r.train_loss:.5f}"),
    ]
    if "val_total" in last:
        rows += [("val loss", f"{last['val_total']:.5f}"), ("val ab-MSE", f"{last['val_ab_mse']:.1f}"), ("val PSNR", f"{last['val_psnr']:.2f} dB")]
    best = next((rec for rec in records if rec.get("epoch") == r.best_epoch), {})
    if "val_psnr" in best:  # what `colorkit colorize RUN` uses
        rows.append(("best epoch", f"{r.best_epoch}: val PSNR {best['val_psnr']:.2f} dB (best.safetensors)"))
    if r.start_val and "val_psnr" in r.start_val:  # a fine-tune: where it started, on the same photos
        rows.append(("val PSNR before training", f"{r.start_val['val_psnr']:.2f} dB (model.init)"))
    if "val_psnr_hints" in last:  # a hint model: the same validation photos with their fixed sampled hints
        rows.append(("val PSNR with hints", f"{last['val_psnr_hints']:.2f} dB"))
    if r.bad_files:
        rows.append(("skipped files", f"{r.bad_files} (listed above)"))
    rows.append(("colorize with", f"colorkit colorize {r.run_dir} PHOTO... -o OUT"))
    if tensorboard.is_dir():
        rows.append(("curves", f"tensorboard --logdir {tensorboard}"))
    for k, v in rows:
        table.add_row(k, escape(printable(v)))  # paths are text, not markup
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(run)
