"""The ``colorkit`` command: a Typer app built by a factory, one module per command."""

from __future__ import annotations

import typer

from colorkit import __version__


def create_app() -> typer.Typer:
    from colorkit.cli import colorize, compare, evaluate, plugins, run, validate

    app = typer.Typer(
        name="colorkit",
        help="Turn grayscale photographs of people into realistic colour.",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    @app.callback()
    def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True)):
        if version:
            typer.echo(f"colorkit {__version__}")
            raise typer.Exit()

    for module in (run, compare, validate, colorize, evaluate, plugins):
        module.register(app)
    return app


def main() -> None:
    create_app()()
