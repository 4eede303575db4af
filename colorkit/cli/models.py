"""``colorkit models``: the pretrained models, their cards, and fetching their weights."""

from __future__ import annotations

from typing import List

import typer
from rich.markup import escape
from rich.table import Table

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.errors import ColorkitError
from colorkit.plugins import get_host
from colorkit.zoo import DEFAULT_MODEL, ModelCard


def _cards() -> dict[str, ModelCard]:
    registry = get_host().registries["pretrained"]
    return {name: registry.get(name).factory for name in registry.names()}


def _card(name: str) -> ModelCard:
    return get_host().registries["pretrained"].get(name).factory


def _table(cards: dict[str, ModelCard]) -> Table:
    table = Table(title="Pretrained models")
    for col in ("name", "summary", "architecture", "size", "UTKFace test PSNR / colourfulness", "weights", "licence"):
        table.add_column(col, overflow="fold")
    for name, card in cards.items():
        utk = card.metrics.get("utkface_test", {}).get("model", {})
        score = f"{utk['psnr']:.2f} dB / {utk['colorfulness']:.1f}" if {"psnr", "colorfulness"} <= set(utk) else "-"
        label = f"{name} (default)" if name == DEFAULT_MODEL else name
        table.add_row(*(escape(x) for x in (label, card.summary, card.architecture, f"{card.weights.bytes / 1e6:.1f} MB", score, card.location(), card.licence)))
    return table


def _show(card: ModelCard) -> None:
    out.print(f"[bold]{escape(card.name)}[/]: {escape(card.summary)}", highlight=False)
    rows = [
        ("architecture", f"{card.architecture} ({card.parameters:,} parameters, network input {card.network_size} px)"
         + (f", from the plugin {card.plugin}" if card.plugin else "")),
        ("takes hints", "yes" if card.hints else "no"),
        ("recipe", card.recipe),
        ("licence", card.licence),
        ("trained on", "; ".join(f"{d.name} {d.splits}, {d.images:,} images ({d.licence})" for d in card.data)),
        ("hardware", f"{card.training.hardware}, {card.training.wall_time}, {card.training.images_seen:,} images seen"),
        ("trained with", card.training.command),
        ("weights", f"{card.location()}: {card.weights.source} ({card.weights.bytes / 1e6:.1f} MB, {card.weights.precision})"),
        ("sha256", card.weights.sha256),
    ]
    for key, value in rows:
        out.print(f"  [bold]{key:>12}[/]  {escape(value)}", highlight=False, soft_wrap=True)
    for test_set, table_rows in card.metrics.items():
        metrics = sorted({m for row in table_rows.values() for m in row})
        table = Table(title=f"measured on {test_set}")
        table.add_column("prediction")
        for m in metrics:
            table.add_column(m, justify="right")
        for row, values in table_rows.items():
            table.add_row(escape(row), *(f"{values[m]:.4g}" if m in values else "" for m in metrics))
        out.print(table)
    for command in card.measured_with:
        out.print(f"  [dim]$ {escape(command)}[/]", highlight=False, soft_wrap=True)


@catch_errors
def models(
    args: List[str] = typer.Argument(None, help="NAME for one model's card, or `fetch NAME...` to download weights now."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List the pretrained models, show one model's card, or fetch weights ahead of time (`colorkit models fetch NAME`)."""
    args = list(args or [])
    if args[:1] == ["fetch"]:
        if len(args) < 2:
            raise ColorkitError("colorkit models fetch NAME...: name at least one model (`colorkit models` lists them)")
        for name in args[1:]:
            path = _card(name)()
            err.print(f"[green]ok[/] {escape(name)}: {escape(str(path))}", highlight=False, soft_wrap=True)
        return
    if len(args) > 1:
        raise ColorkitError(f"colorkit models: expected one model name, got {len(args)}: {' '.join(args)}")
    if args:
        card = _card(args[0])
        if as_json:
            print_json(dict(card.model_dump(mode="json"), location=card.location()))
        else:
            _show(card)
        return
    cards = _cards()
    if as_json:
        print_json({name: dict(c.model_dump(mode="json"), location=c.location()) for name, c in cards.items()})
    elif not cards:
        out.print("no pretrained models are installed")
    else:
        out.print(_table(cards))


def register(app: typer.Typer) -> None:
    app.command()(models)
