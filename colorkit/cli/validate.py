"""``colorkit validate``: check recipes without training, as ``colorkit run`` checks them first."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from rich.markup import escape

from colorkit.cli.common import EXIT_USAGE, catch_errors, one_line, out, print_json, problems
from colorkit.errors import ColorkitError, RecipeError
from colorkit.plugins import get_host


@catch_errors
def validate(
    recipes: List[Path] = typer.Argument(..., help="Recipe files to check."),
    set_: List[str] = typer.Option([], "--set", help="Override a key, e.g. --set train.lr=1e-4 (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per recipe on stdout instead of lines."),
) -> None:
    """Check recipes and compare recipes: keys, types, ranges, registry names, model and loss options. Trains nothing."""
    from colorkit.recipe import read_toml, validate_file  # imports torch: loaded when used, not for --help
    from colorkit.training.compare import load_compare
    from colorkit.training.preflight import preflight

    host = get_host()
    bad = 0
    records = []
    for path in recipes:
        try:
            if "base" in read_toml(path):
                spec = load_compare(path, vary=[], overrides=list(set_), host=host, evaluate_override={})
                for name, variant in spec.variants.items():
                    preflight(variant, host, f"{path} [variant '{name}']")
                records.append({"path": str(path), "ok": True, "name": spec.name, "variants": list(spec.variants)})
                if not as_json:
                    out.print(f"[green]ok[/] {one_line(str(path))}: comparison of {len(spec.variants)} variants: {escape(', '.join(spec.variants))}", highlight=False, soft_wrap=True)
                continue
            recipe = validate_file(path, host, set_)
            preflight(recipe, host, str(path))
        except ColorkitError as exc:
            records.append({"path": str(path), "ok": False, "error": str(exc)})
            if not as_json:
                problems.print(f"[bold red]invalid:[/] {one_line(str(exc))}", highlight=False, soft_wrap=True)
            bad += 1
            continue
        losses = " + ".join(f"{t.weight:g}*{t.name}" for t in recipe.loss)
        pre = ", ".join(s.name for s in recipe.preprocess)
        hints = recipe.hints.sampler if recipe.hints is not None else None
        records.append({"path": str(path), "ok": True, "name": recipe.name, "model": recipe.model.name, "loss": losses, "size": recipe.data.size, "preprocess": pre, "hints": hints})
        if not as_json:
            shown = (f", preprocess {pre}" if pre else "") + (f", hints {hints}" if hints else "")
            summary = f"model {recipe.model.name}, loss {losses}, size {recipe.data.size}{shown}"
            out.print(f"[green]ok[/] {one_line(str(path))}: {escape(summary)}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(records)
    if bad:
        raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    app.command()(validate)
