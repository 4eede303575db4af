"""Side-by-side reports for ``colorkit compare``.

:func:`results_table` gives a Rich table for the terminal; :func:`write_report` writes
``results.csv``, ``results.json``, ``results.md``, ``loss_curves.png``, ``metrics.png``, ``grid.png``
and ``index.html`` into one folder, and ``hints.png`` when a variant is a hint model, each through an
atomic write (rendered to memory first).

The parts live beside this module: :mod:`~colorkit.report.table_model` (the rows every text
renderer shares, and which cells are bold), :mod:`~colorkit.report.terminal`,
:mod:`~colorkit.report.text_files` (CSV, Markdown), :mod:`~colorkit.report.html_page`,
:mod:`~colorkit.report.plots` and :mod:`~colorkit.report.photo_grid`.
"""

from __future__ import annotations

import json
from pathlib import Path

from colorkit.files import atomic_write_bytes, atomic_write_text
from colorkit.report.html_page import FILES, results_html
from colorkit.report.photo_grid import GRID_LABEL_H, GRID_MAX_H, GRID_MIN_H, GRID_PAD, GRID_TITLE_H, grid_png
from colorkit.report.plots import HINTS_PLOT, hints_png, loss_curves_png, metrics_png
from colorkit.report.results import CompareResults
from colorkit.report.table_model import BASELINE_LABEL, check_reference
from colorkit.report.terminal import results_table
from colorkit.report.text_files import results_csv, results_markdown

__all__ = [
    "BASELINE_LABEL",
    "FILES",
    "GRID_LABEL_H",
    "GRID_MAX_H",
    "GRID_MIN_H",
    "GRID_PAD",
    "GRID_TITLE_H",
    "HINTS_PLOT",
    "grid_png",
    "hints_png",
    "loss_curves_png",
    "metrics_png",
    "results_csv",
    "results_html",
    "results_markdown",
    "results_table",
    "write_report",
]


def write_report(out_dir: Path, results: CompareResults) -> dict[str, Path]:
    """Write the whole report into ``out_dir`` (created if needed); answers key -> path (see :data:`FILES`,
    and ``"hints"`` for :data:`HINTS_PLOT` when a variant is a hint model).

    Every file is rendered in memory first and written atomically, so a failure leaves either the
    previous file or the new one, never half of it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_reference(results)
    paths = {k: out_dir / name for k, name in FILES.items()}
    atomic_write_text(paths["csv"], results_csv(results))
    # not atomic_write_json: that sorts keys, and the order of groups and metrics is worth keeping
    atomic_write_text(paths["json"], json.dumps(results.to_json(), indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["markdown"], results_markdown(results, out_dir))
    atomic_write_bytes(paths["loss_curves"], loss_curves_png(results))
    atomic_write_bytes(paths["metrics"], metrics_png(results))
    atomic_write_bytes(paths["grid"], grid_png(results))
    if any(v.hints for v in results.variants):
        paths["hints"] = out_dir / HINTS_PLOT
        atomic_write_bytes(paths["hints"], hints_png(results))
    atomic_write_text(paths["html"], results_html(results, out_dir))
    return paths
