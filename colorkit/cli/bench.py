"""``colorkit bench``: inference and training speed, FLOPs, memory and data wait of models on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich import box
from rich.table import Table

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.contracts import MAX_SIZE
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_json
from colorkit.plugins import get_host

if TYPE_CHECKING:
    from colorkit.recipe import DataConfig


def parse_sets(items: list[str], models: list[str]) -> tuple[dict[str, dict], dict]:
    """``--set MODEL.KEY=VALUE`` (model options) and ``--set data.KEY=VALUE`` (a recipe's [data] keys)."""
    from colorkit.recipe import parse_value
    args: dict[str, dict] = {m: {} for m in models}
    data: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        owner, dot, option = key.strip().partition(".")
        if not sep or not dot or not option:
            raise ColorkitError(f"--set {item!r}: expected MODEL.KEY=VALUE or data.KEY=VALUE, for example cunet.width=16")
        if owner == "data":
            data[option] = parse_value(value)
        elif owner in args:
            args[owner][option] = parse_value(value)
        else:
            raise ColorkitError(f"--set {item!r}: '{owner}' is neither data nor one of the --model names ({', '.join(models)})")
    return args, data


def _data_config(source: str, workers: int, size: int, data: dict) -> DataConfig:
    from pydantic import ValidationError

    from colorkit.recipe import DataConfig

    try:
        return DataConfig.model_validate({"source": source, "workers": workers, **data, "size": size})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ColorkitError(f"--set data.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _rate(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def table(report: dict) -> Table:
    """One row per model; every number is in the JSON report too (with parameters and seconds)."""
    peak = report["matmul_peak"]
    t = Table(title=f"colorkit bench: {report['settings']['size']} px, batch {report['settings']['batch']}, "
                    f"{report['machine']['device']} ({report['machine']['torch_threads']} threads); "
                    f"matmul peak {peak['gflops_per_s']:,.0f} GFLOP/s {peak['dtype']}", box=box.SIMPLE_HEAD)
    t.add_column("model", no_wrap=True)
    for col in ("fwd GFLOP", "infer img/s", "infer %peak", "infer MB", "train img/s", "train %peak", "train MB", "data wait"):
        t.add_column(col, justify="right")
    for m in report["models"]:
        inf, tr = m["inference"], m.get("train")
        row = [m["name"], f"{inf['flops_per_image'] / 1e9:.2f}", _rate(inf["images_per_s"]), f"{100 * inf['peak_fraction']:.1f}",
               f"{inf['memory_bytes'] / 2**20:.0f}"]
        if tr:
            row += [_rate(tr["images_per_s"]), f"{100 * tr['peak_fraction']:.1f}", f"{tr['memory_bytes'] / 2**20:.0f}",
                    f"{100 * tr['data_wait_share']:.0f}%"]
        else:
            row += ["-"] * 4
        t.add_row(*row)
    return t


@catch_errors
def bench(
    model: list[str] = typer.Option(["cunet"], "--model", "-m", help="A registered model; repeat for several."),
    sets: list[str] = typer.Option([], "--set", help="MODEL.KEY=VALUE model option (cunet.width=16) or data.KEY=VALUE (a recipe's [data] key)."),
    size: int = typer.Option(256, min=8, max=MAX_SIZE, help="Network input size (size x size)."),
    batch: int = typer.Option(16, min=1, help="Images per batch."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats; the median is reported."),
    warmup: int = typer.Option(2, min=0, help="Untimed repeats first."),
    device: str = typer.Option("auto", help='"auto", "cpu" or "cuda".'),
    amp: bool = typer.Option(False, "--amp", help="Autocast to --amp-dtype (the matmul peak is then measured in it too)."),
    amp_dtype: str = typer.Option("bf16", "--amp-dtype", help='"bf16" or "fp16" (CUDA only).'),
    channels_last: Optional[bool] = typer.Option(
        None, "--channels-last/--no-channels-last", help="NHWC memory format for weights and activations (default: on for inference, off for training)."
    ),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the models (the first calls compile; warm-up covers them)."),
    fold_bn: bool = typer.Option(True, "--fold-bn/--no-fold-bn", help="Fold BatchNorm into convolutions for inference."),
    train: bool = typer.Option(True, "--train/--no-train", help="Also time training steps (forward, backward, Adam)."),
    data: str = typer.Option("sample", "--data", help='Training data: "sample" or a folder of images.'),
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report as JSON here; - prints it on stdout instead of the table."),
) -> None:
    """Measure models on this machine: images/s for inference and training, FLOPs, share of the matmul peak, memory, data wait."""
    from colorkit.bench import BenchConfig, run_bench
    from colorkit.build import build_model, resolve_device
    from colorkit.recipe import device_problem

    if amp_dtype not in ("bf16", "fp16"):
        raise ColorkitError(f"--amp-dtype must be bf16 or fp16, got {amp_dtype!r}")
    problem = device_problem(device)
    if problem:
        raise ColorkitError(f"--device {device!r}: {problem}")
    dev = resolve_device(device)
    if amp and amp_dtype == "fp16" and dev.type != "cuda":
        raise ColorkitError("--amp-dtype fp16 needs CUDA; use bf16 on a CPU")
    host = get_host()
    for name in model:
        host.models.get(name)  # unknown names fail here, listing the valid ones
    args, data_keys = parse_sets(sets, model)
    cfg = BenchConfig(size=size, batch=batch, repeats=repeats, warmup=warmup, device=dev, amp=amp_dtype if amp else None,
                      channels_last=channels_last, compile=compile, fold_bn=fold_bn, train=train,
                      data=_data_config(data, workers, size, data_keys))
    builders = {}
    for name in model:
        spec = {"name": name, "args": args[name], "in_channels": 1, "out_channels": 2}
        build_model(spec, host)  # bad options fail before anything is timed
        builders[name] = lambda spec=spec: build_model(spec, host)
    with err.status("measuring the matmul peak") as status:
        report = run_bench(builders, cfg, on_model=lambda name: status.update(f"benchmarking {name}"))
    if output is not None and str(output) == "-":
        print_json(report)
        return
    out.print(table(report))
    if output is not None:
        atomic_write_json(output, report)
        err.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command()(bench)
