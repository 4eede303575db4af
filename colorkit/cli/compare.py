"""``colorkit compare``: train variants of one recipe on equal terms and report them side by side."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer
from rich.progress import Progress

from colorkit.cli.common import catch_errors, err, out, print_json
from colorkit.data.images import find_images
from colorkit.errors import ColorkitError
from colorkit.outputs import Outputs
from colorkit.plugins import get_host

if TYPE_CHECKING:
    from colorkit.training.compare import Comparison


def _claim_report(comparison: Comparison, recipe: Path | None) -> None:
    """The report's files must not replace the recipe or a held-out photo or split (see :mod:`colorkit.outputs`)."""
    from colorkit.report.compare import FILES, HINTS_PLOT  # imports torch: loaded when used, not for --help

    outputs = Outputs("move that file out of the compare directory")
    evaluate = comparison.state.get("evaluate") or {}
    outputs.reads(*[Path(p) for p in (recipe, evaluate.get("split")) if p])
    if evaluate.get("data") and Path(evaluate["data"]).is_dir():
        outputs.reads(*find_images(evaluate["data"]).files)
    for name in (*FILES.values(), HINTS_PLOT):
        outputs.claim(comparison.dir / name)


@catch_errors
def compare(
    recipe: Optional[Path] = typer.Argument(None, help="A compare recipe (with 'base' and [[variant]]), or a plain recipe with --vary."),
    vary: List[str] = typer.Option([], "--vary", help="Variants of a plain recipe: loss=mse,l1 or KEY=V1,V2 (repeatable)."),
    set_: List[str] = typer.Option([], "--set", help="Override a key of the base recipe for every variant."),
    eval_data: Optional[Path] = typer.Option(None, "--eval-data", help="Held-out photos to evaluate on (default: the recipe's)."),
    eval_split: Optional[Path] = typer.Option(None, "--eval-split", help="File listing the held-out photos in --eval-data."),
    eval_limit: Optional[int] = typer.Option(None, "--eval-limit", min=1, help="Evaluate on the first N photos only."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue a compare directory: finished variants are reused."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout instead of a table."),
) -> None:
    """Train every variant on the same data, split, seed and budget; evaluate and report side by side."""
    from colorkit.report.compare import results_table, write_report
    from colorkit.training.compare import Comparison, load_compare
    from colorkit.training.trainer import Interrupted

    host = get_host()
    if resume is not None:
        if recipe is not None or vary or set_:
            raise ColorkitError("--resume continues a comparison with its own compare.json; give no recipe, --vary or --set")
        comparison = Comparison.open(resume, host, err)
    else:
        if recipe is None:
            raise ColorkitError("give a compare recipe, e.g. colorkit compare recipes/compare_losses.toml, or --resume DIR")
        override = {"data": str(eval_data) if eval_data else None, "split": str(eval_split) if eval_split else None, "limit": eval_limit}
        spec = load_compare(recipe, vary=list(vary), overrides=list(set_), host=host, evaluate_override=override)
        args = [str(recipe)] + [f"--vary={v}" for v in vary] + [f"--set={s}" for s in set_]
        args += [f"--{k}={v}" for k, v in (("eval-data", eval_data), ("eval-split", eval_split), ("eval-limit", eval_limit)) if v]
        command = "colorkit compare " + " ".join(shlex.quote(a) for a in args)
        comparison = Comparison.create(spec, command, host, err)
        err.print(f"compare directory [bold]{comparison.dir}[/] ({len(spec.variants)} variants: {', '.join(spec.variants)})")
    _claim_report(comparison, recipe)
    err.print(f"curves of every variant: [bold]{comparison.tensorboard}[/]", highlight=False, soft_wrap=True)
    try:
        comparison.train_all()
    except (Interrupted, KeyboardInterrupt):
        err.print(f"the comparison continues with: colorkit compare --resume {comparison.dir}", highlight=False, soft_wrap=True)
        raise
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("evaluating", total=None)
        evals = comparison.evaluate_all(on_progress=lambda k: progress.advance(task, k))
    results = comparison.results(evals)
    files = write_report(comparison.dir, results)
    if as_json:
        print_json(dict(results.to_json(), report=str(files.get("html", comparison.dir)), tensorboard=comparison.tensorboard))
        return
    out.print(results_table(results))
    out.print(f"report: {files.get('html', comparison.dir)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(compare)
