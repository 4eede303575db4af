"""``colorkit models``: the pretrained models, their cards, and fetching their weights."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup
from rich.markup import escape
from rich.table import Table

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.errors import ColorkitError
from colorkit.outputs import Outputs
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


class _ShowByDefault(TyperGroup):
    """``colorkit models NAME`` is ``colorkit models show NAME``; ``colorkit models`` lists them."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_ShowByDefault, invoke_without_command=True, no_args_is_help=False,
                  help="The pretrained models: list them, show a card, fetch weights ahead of time, pack a run as one.")


@app.callback()
@catch_errors
def list_models(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the pretrained models (`colorkit models NAME` shows one card)."""
    if ctx.invoked_subcommand is not None:
        return
    cards = _cards()
    if as_json:
        print_json({name: dict(c.model_dump(mode="json"), location=c.location()) for name, c in cards.items()})
    elif not cards:
        out.print("no pretrained models are installed")
    else:
        out.print(_table(cards))


@app.command("show")
@catch_errors
def show(name: str = typer.Argument(..., help="A pretrained model's name."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text and tables.")) -> None:
    """One model's card: architecture, training data and licence, hardware, measured metrics, weights."""
    card = _card(name)
    if as_json:
        print_json(dict(card.model_dump(mode="json"), location=card.location()))
    else:
        _show(card)


@app.command("fetch")
@catch_errors
def fetch(names: List[str] = typer.Argument(..., help="Models whose weights to download (and check) now.")) -> None:
    """Download weights now (with internet access), so later runs work offline from the cache."""
    for name in names:
        path = _card(name)()
        err.print(f"[green]ok[/] {escape(name)}: {escape(str(path))}", highlight=False, soft_wrap=True)


@app.command("pack")
@catch_errors
def pack_run(
    checkpoint: Path = typer.Argument(..., help="A run directory (its best checkpoint) or a checkpoint inside one."),
    name: str = typer.Option(..., "--name", help="The model's name."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for NAME.safetensors and the card NAME.toml."),
    summary: str = typer.Option(..., "--summary", help="One line on what the model is for."),
    licence: str = typer.Option(..., "--licence", help="The terms of use the training data imposes on the weights."),
    source: Optional[str] = typer.Option(None, "--source", help="Where users get the weights (default: package:colorkit.zoo/models/NAME.safetensors)."),
    precision: str = typer.Option("float16", "--precision", help="float16 (half the size), bfloat16 or float32."),
    evals: List[str] = typer.Option([], "--eval", help="TEST_SET=FILE: metrics from a `colorkit evaluate --json` file; repeatable."),
    measured_with: List[str] = typer.Option([], "--measured-with", help="A command that reproduces the metrics; repeatable."),
    hardware: Optional[str] = typer.Option(None, "--hardware", help="What trained it (default: from the run's env.json)."),
    recipe_file: Optional[str] = typer.Option(None, "--recipe", help="The recipe file that trained it (default: recipes/RECIPE_NAME.toml)."),
) -> None:
    """Turn a trained run into a pretrained model: compact weights and a card filled from the run."""
    from colorkit.training.pack import pack

    parsed = {}
    for item in evals:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ColorkitError(f"--eval {item!r}: expected TEST_SET=FILE, e.g. utkface_test=evaluate-test.json")
        parsed[key] = Path(value)
    Outputs("choose another -o").reads_model(checkpoint).reads(*parsed.values()).claim(output / f"{name}.safetensors", output / f"{name}.toml")
    packed = pack(checkpoint, name=name, out_dir=output, summary=summary, licence=licence, source=source, precision=precision,
                  evals=parsed, measured_with=list(measured_with), hardware=hardware, recipe_file=recipe_file, host=get_host())
    out.print(f"wrote {escape(str(packed.weights))} ({packed.card_data.weights.bytes / 1e6:.1f} MB, sha256 {packed.card_data.weights.sha256[:12]}...) "
              f"and {escape(str(packed.card))}", highlight=False, soft_wrap=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="models")
