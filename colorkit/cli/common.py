"""Shared CLI pieces: consoles (results on stdout, progress and messages on stderr) and error handling."""

from __future__ import annotations

import functools
from typing import Callable

import typer
from rich.console import Console

from colorkit.errors import ColorkitError

out = Console()
err = Console(stderr=True)

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def catch_errors(fn: Callable) -> Callable:
    """Turn an expected failure into one red line on stderr and its exit code, with no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ColorkitError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper
