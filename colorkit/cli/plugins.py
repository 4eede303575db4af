"""``colorkit plugins``: every plugin with its version and what it registers."""

from __future__ import annotations

import typer
from rich.table import Table

from colorkit.cli.common import one_line, out, print_json
from colorkit.plugins import get_host


def plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    """List plugins, what each registers, and any plugin that failed to load."""
    host = get_host()
    if as_json:
        data = {
            "plugins": [vars(p) for p in host.plugins],
            "registries": {k: {n: {"plugin": e.plugin, "doc": e.doc} for n, e in r.entries.items()} for k, r in host.registries.items()},
        }
        print_json(data)
        return
    table = Table(title="Plugins")
    for col in ("plugin", "version", "source", "registers", "problems"):
        table.add_column(col, overflow="fold")
    for p in host.plugins:
        registers = "\n".join(f"{kind}: {one_line(', '.join(names))}" for kind, names in p.registered.items()) or "-"
        problems = "\n".join(f"[red]{one_line(e)}[/]" for e in p.errors) or "[green]ok[/]"
        table.add_row(one_line(p.name), one_line(p.version), one_line(p.source), registers, problems)
    out.print(table)
    for kind, registry in host.registries.items():
        if not registry.entries:
            continue
        t = Table(title=kind.replace("_", " ").capitalize())
        for col in ("name", "plugin", "description"):
            t.add_column(col, overflow="fold")
        for name in registry.names():
            e = registry.entries[name]
            t.add_row(one_line(name), one_line(e.plugin), one_line(e.doc))
        out.print(t)


def register(app: typer.Typer) -> None:
    app.command()(plugins)
