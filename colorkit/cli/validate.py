"""``colorkit validate``: check recipes without building anything."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from colorkit.cli.common import EXIT_USAGE, err, out
from colorkit.errors import ColorkitError
from colorkit.plugins import get_host
from colorkit.recipe import validate_file


def validate(
    recipes: List[Path] = typer.Argument(..., help="Recipe files to check."),
    set_: List[str] = typer.Option([], "--set", help="Override a key, e.g. --set train.lr=1e-4 (repeatable)."),
) -> None:
    """Check recipes: keys, types, ranges, registry names and model options. Builds nothing."""
    host = get_host()
    bad = 0
    for path in recipes:
        try:
            recipe = validate_file(path, host, set_)
        except ColorkitError as exc:
            err.print(f"[bold red]invalid:[/] {exc}", highlight=False, soft_wrap=True)
            bad += 1
            continue
        losses = " + ".join(f"{t.weight:g}*{t.name}" for t in recipe.loss)
        out.print(f"[green]ok[/] {path}: model {recipe.model.name}, loss {losses}, size {recipe.data.size}", highlight=False)
    if bad:
        raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    app.command()(validate)
