"""The ``colorkit compare`` results as a Rich table for the terminal."""

from __future__ import annotations

import textwrap

from rich import box
from rich.table import Table
from rich.text import Text

from colorkit.report.results import CompareResults
from colorkit.report.table_model import overall, table_caption, table_title


def results_table(results: CompareResults) -> Table:
    """A Rich table: the gray baseline, one row per variant, and the truth; best variant values in bold."""
    cols, rows = overall(results)
    table = Table(title=table_title(results), caption=table_caption(results), caption_justify="left", box=box.SIMPLE_HEAVY, show_edge=False, pad_edge=False, collapse_padding=True)
    # on a narrow terminal let headers and the loss wrap, but never cut a number or a variant name
    table.add_column("variant", min_width=min(16, max(len(r.label) for r in rows)), overflow="fold")
    table.add_column("loss", min_width=8, overflow="fold")
    for c in cols:
        # headers wrapped to the width of their numbers, so that only the loss column has to give way
        width = max(len(r.texts[c.key]) for r in rows)
        header = "\n".join(textwrap.wrap(c.header, width=max(width, *(len(w) for w in c.header.split()))))
        table.add_column(header, justify="right", min_width=width)
    for i, row in enumerate(rows):
        style = "dim" if row.kind != "variant" else ""
        cells = [Text(row.label, style=style or "cyan"), Text(row.description, style=style)]
        cells += [Text(row.texts[c.key], style="bold" if c.key in row.bold else style) for c in cols]
        end = row.kind == "baseline" or (i + 1 < len(rows) and rows[i + 1].kind == "truth")
        table.add_row(*cells, end_section=end)
    return table
