"""``colorkit plugin new``: scaffold a complete, installable plugin package."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.plugins import create_host
from colorkit.scaffold import KINDS, new_plugin

Kind = Enum("Kind", {k: k for k in KINDS}, type=str)

plugin_app = typer.Typer(help="Write new plugins.", no_args_is_help=True)


@plugin_app.command("new")
@catch_errors
def new(
    name: str = typer.Argument(..., help="The name it registers, e.g. weighted-l1 (package colorkit-weighted-l1, module colorkit_weighted_l1)."),
    kind: Kind = typer.Option(..., "--kind", "-k", help="What it registers."),
    output: Path = typer.Option(Path("."), "-o", "--output", help="Folder to create the package folder in."),
    as_json: bool = typer.Option(False, "--json", help="Print the created folder and files as JSON."),
) -> None:
    """Write a plugin package: pyproject with entry point, a working example, README, tests and a recipe."""
    target = new_plugin(name, kind.value, output, host=create_host(entry_points=False))
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    if as_json:
        print_json({"folder": str(target), "files": files})
        return
    err.print(f"wrote {len(files)} files", highlight=False)
    out.print(str(target), highlight=False)
    err.print(f"next: pip install -e {target} && pytest {target / 'tests'} && colorkit validate {target / (target.name.removeprefix('colorkit-').replace('-', '_') + '.toml')}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(plugin_app, name="plugin")
