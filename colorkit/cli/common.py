"""Shared CLI pieces: consoles (results on stdout, progress and messages on stderr) and error handling."""

from __future__ import annotations

import functools
import io
import json
import math
import sys
import unicodedata
from typing import Callable

import typer
from rich.console import Console
from rich.markup import escape

from colorkit.data.images import printable
from colorkit.errors import ColorkitError

out = Console()
err = Console(stderr=True)
"""Progress and information; silenced by ``colorkit --quiet``."""
problems = Console(stderr=True)
"""Errors, invalid recipes and failed files: shown even with ``--quiet``."""

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FILES_FAILED: "some files could not be read or written (listed on stderr); the rest were processed",
    EXIT_USAGE: "bad usage: an invalid recipe, a missing checkpoint or weights, a missing optional extra, a wrong option",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); training saved a resumable checkpoint first",
    EXIT_TERMINATED: "terminated (SIGTERM); training saved a resumable checkpoint first",
}
"""Every exit status of ``colorkit`` and what it means (documented in the CLI reference)."""


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no progress or information on stderr; errors and results still show."""
    err.quiet = quiet


def print_json(data) -> None:
    """``--json``: one JSON document on stdout (strict JSON: NaN and infinity become null)."""
    typer.echo(json.dumps(_strict(data), indent=2))


def _strict(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def safe_streams() -> None:
    """Print any file name: names that are not valid UTF-8 (kept by Python as surrogates) are shown
    with backslash escapes instead of crashing the output with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, io.UnsupportedOperation):
                pass


def one_line(text: str) -> str:
    """``text`` to print as one line of plain text: bytes that are not UTF-8 as ``\\xNN``, control
    characters (a newline in a name) as escapes, and ``[`` escaped so Rich never reads it as markup."""
    text = "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c for c in printable(text))
    return escape(text)


def catch_errors(fn: Callable) -> Callable:
    """Turn an expected failure into one red line on stderr and its exit code, with no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        safe_streams()
        try:
            return fn(*args, **kwargs)
        except ColorkitError as exc:
            prefix = getattr(exc, "prefix", "[bold red]error:[/]")  # "interrupted:" for a stopped training
            problems.print(f"{prefix} {one_line(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            problems.print("[yellow]interrupted[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as exc:  # a file-system refusal outside the handled paths: still one line
            where = f"{exc.filename}: " if exc.filename else ""
            problems.print(f"[bold red]error:[/] {one_line(where + (exc.strerror or str(exc)))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def report_failures(failed: list[str]) -> None:
    """List the files that failed (shown even with --quiet) and exit 1; return when none failed."""
    if not failed:
        return
    problems.print(f"[red]{len(failed)} failed[/]:")
    for line in failed:
        problems.print(f"[red]failed:[/] {one_line(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FILES_FAILED)


def hint_models() -> str:
    """The installed pretrained models that take colour hints, for a refusal's advice ("a hint model (...)")."""
    from colorkit.plugins import get_host

    registry = get_host().registries["pretrained"]
    names = [name for name in registry.names() if registry.get(name).factory.hints]
    return f"a hint model ({', '.join(names)}; docs/hints.md)" if names else "a hint model (docs/hints.md)"


def check_size(size: int | None) -> None:
    """A ``--size`` outside what any network can run at is one line (the recipe's bound, written once)."""
    from colorkit.recipe import size_problem  # imports torch: loaded when used, not for --help

    why = size_problem(size) if size is not None else None
    if why:
        raise ColorkitError(f"--size {size}: {why}")
