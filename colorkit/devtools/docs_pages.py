"""Documentation pages generated from the code, so they cannot drift from it.

- ``docs/cli.md``: every command's usage, description, arguments and options, as ``--help`` shows them
  (from the Typer app), and the exit codes;
- ``docs/hooks.md``: every plugin hook with its exact signature and docstring (from ``hookspecs.py``);
- ``docs/recipe-reference.md``: every recipe key (from the recipe schema, see :mod:`.recipe_reference`).

Regenerate all of them with ``python -m colorkit.devtools.docs_pages`` (from the repository root);
``--check`` only reports the pages that differ. The tests fail while a committed page is stale.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Callable

from colorkit import hookspecs

NOTE = "Generated from `{source}` by `python -m colorkit.devtools.docs_pages`; a test fails when this page and the code disagree."


def _clean(text: str) -> str:
    """Sphinx roles (``:class:`X```) as plain code spans."""
    return re.sub(r":\w+:`~?([^`]+)`", r"``\1``", text)


# --- CLI ------------------------------------------------------------------------------------------


def _params(params, ctx) -> list[str]:
    lines = []
    for p in params:
        record = p.get_help_record(ctx)
        if record is None:
            continue
        name, help_text = record
        help_text = " ".join(help_text.split())
        lines.append(f"- `{name}`: {help_text}" if help_text else f"- `{name}`")
    return lines


def _command(cmd, ctx, path: str, out: list[str]) -> None:
    import typer._click as click  # the click that typer builds its commands with

    subcommands = getattr(cmd, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            _command(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}", out)
        return
    out += [f"## `{path}`", ""]
    out += [inspect.cleandoc(cmd.help or ""), ""]
    out += ["```", f"{path} {' '.join(cmd.collect_usage_pieces(ctx))}", "```", ""]
    args = [p for p in cmd.params if p.param_type_name == "argument"]
    opts = [p for p in cmd.params if p.param_type_name != "argument"]
    if args:
        out += ["Arguments:", ""] + _params(args, ctx) + [""]
    if opts:
        out += ["Options:", ""] + _params(opts, ctx) + ["- `--help`: Show this message and exit.", ""]


def cli_reference() -> str:
    import typer
    import typer._click as click

    from colorkit.cli import create_app
    from colorkit.cli.common import EXIT_CODES

    root = typer.main.get_command(create_app())
    ctx = click.Context(root, info_name="colorkit")
    out = [
        "# Command-line reference",
        "",
        NOTE.format(source="colorkit/cli/"),
        "",
        inspect.cleandoc(root.help or ""),
        "",
        "Every command prints progress and information on stderr and results on stdout, so",
        "`colorkit ... > results.txt` keeps only the results. `colorkit --quiet COMMAND` silences the",
        "progress; errors still show, each as one line. Where a result is data, `--json` prints it as",
        "one JSON document on stdout instead of tables.",
        "",
        "## `colorkit`",
        "",
        "```",
        "colorkit [OPTIONS] COMMAND [ARGS]...",
        "```",
        "",
        "Options (before the command):",
        "",
    ]
    out += _params(root.params, ctx) + ["- `--help`: Show this message and exit.", ""]
    out += ["Commands:", ""]
    for name, sub in root.commands.items():
        out.append(f"- `{name}`: {sub.get_short_help_str(limit=300)}")
    out.append("")
    for name, sub in root.commands.items():
        _command(sub, click.Context(sub, info_name=name, parent=ctx), f"colorkit {name}", out)
    out += ["## Exit codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items()]
    out += ["", "An expected failure (a bad recipe, an unreadable file, missing weights, a missing optional",
            "extra) prints one line starting with `error:` on stderr, never a Python traceback."]
    return "\n".join(out).rstrip() + "\n"


# --- hooks ----------------------------------------------------------------------------------------


def hook_specs() -> list[Callable]:
    """Every hook specification in ``hookspecs.py``, in source order."""
    specs = [f for name, f in vars(hookspecs).items() if name.startswith("colorkit_") and hasattr(f, "colorkit_spec")]
    return sorted(specs, key=lambda f: inspect.getsourcelines(f)[1])


def hook_signature(fn: Callable) -> str:
    """``def name(arg: Type, ...) -> Type`` exactly as written in ``hookspecs.py``."""
    return "def " + fn.__name__ + str(inspect.signature(fn)).replace("'", "")


def hooks_reference() -> str:
    out = [
        "# Hook reference",
        "",
        NOTE.format(source="colorkit/hookspecs.py"),
        "",
        _clean(inspect.cleandoc(hookspecs.__doc__ or "")),
        "",
        "Implement a hook with the marker `colorkit.hookspecs.hookimpl`, in a module that the",
        "`colorkit` entry-point group names (see the [plugin guide](plugins.md)):",
        "",
        "```python",
        "from colorkit.hookspecs import hookimpl",
        "",
        "@hookimpl",
        "def colorkit_register_losses(register):",
        '    register("huber", HuberLoss)',
        "```",
        "",
        "The `register` callback:",
        "",
        "```python",
        "def register(name: str, factory: Callable) -> None: ...",
        "```",
        "",
        "| hook | fills the registry |",
        "|---|---|",
    ]
    specs = hook_specs()
    out += [f"| [`{f.__name__}`](#{f.__name__}) | `{f.__name__.removeprefix('colorkit_register_')}` |" for f in specs]
    out.append("")
    for f in specs:
        out += [f"## {f.__name__}", "", "```python", hook_signature(f), "```", "", _clean(inspect.getdoc(f) or ""), ""]
    return "\n".join(out).rstrip() + "\n"


# --- all pages ------------------------------------------------------------------------------------


def pages() -> dict[str, str]:
    """Path relative to the repository root -> generated content."""
    from colorkit.devtools.recipe_reference import reference

    return {"docs/cli.md": cli_reference(), "docs/hooks.md": hooks_reference(), "docs/recipe-reference.md": reference()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for rel, text in pages().items():
        path = Path(rel)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(rel)
        if not check:
            path.write_text(text, encoding="utf-8")
    verb = "stale" if check else "wrote"
    for rel in stale:
        print(f"{verb}: {rel}", file=sys.stderr)
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
