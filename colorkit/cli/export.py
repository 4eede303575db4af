"""``colorkit export``: a checkpoint as an ONNX model (network and decoder) for onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from colorkit.cli.common import catch_errors, check_size, out
from colorkit.data.images import printable
from colorkit.errors import ColorkitError
from colorkit.outputs import Outputs

FORMATS = ("onnx",)


@catch_errors
def export(
    checkpoint: Path = typer.Argument(..., help="A run directory (uses its best checkpoint), a .safetensors checkpoint or a pretrained model's name (`colorkit models`)."),
    output: Path = typer.Option(..., "-o", "--output", help="The model file to write, e.g. model.onnx."),
    format: str = typer.Option("onnx", "--format", help="Output format: onnx (network + decoder, dynamic batch axis)."),
    size: Optional[int] = typer.Option(None, "--size", help="Network resolution baked into the model (default: the training size)."),
) -> None:
    """Export a checkpoint to ONNX for `colorkit colorize --backend onnxruntime` (needs colorkit[onnx])."""
    check_size(size)
    if format not in FORMATS:
        raise ColorkitError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    from colorkit.checkpoint import read_checkpoint
    from colorkit.inference.colorizer import Colorizer, find_checkpoint
    from colorkit.inference.export import export_onnx

    file = find_checkpoint(checkpoint)  # a pretrained model's name becomes its checked weights file
    Outputs().reads_model(checkpoint).reads_model(file).claim(output)
    colorizer = Colorizer.load(file, device="cpu", size=size)
    result = export_onnx(colorizer, read_checkpoint(file)[1], output)
    out.print(
        f"wrote {escape(printable(str(result.path)))}: size {result.size}, dynamic batch; "
        f"onnxruntime vs torch on a random batch: max abs diff {result.max_abs_diff:.2e} (ab / 110)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(export)
