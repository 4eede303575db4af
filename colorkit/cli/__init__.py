"""The ``colorkit`` command: a Typer app built by a factory, one module per command."""

from __future__ import annotations

import typer

from colorkit import __version__


def create_app() -> typer.Typer:
    from colorkit.cli import bench, colorize, compare, evaluate, export, models, plugin_new, plugins, run, segment, serve, validate
    from colorkit.cli.common import set_quiet

    app = typer.Typer(
        name="colorkit",
        help="Turn grayscale photographs of people into realistic colour.",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    def _version(value: bool) -> None:
        if value:
            typer.echo(f"colorkit {__version__}")
            raise typer.Exit()

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True, callback=_version),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or information on stderr; errors and results still show."),
    ):
        set_quiet(quiet)

    for module in (run, compare, validate, colorize, export, evaluate, models, bench, segment, serve, plugins, plugin_new):
        module.register(app)
    return app


def main() -> None:
    create_app()()
