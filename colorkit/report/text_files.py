"""The ``colorkit compare`` report as text files: ``results.csv`` and ``results.md``."""

from __future__ import annotations

import csv
import html
import io
import os
from pathlib import Path
from urllib.parse import quote

from colorkit.metric_info import describe
from colorkit.report.plots import HINTS_PLOT
from colorkit.report.results import CompareResults
from colorkit.report.table_model import EM_DASH, group_tables, is_finite, metric_infos, overall, table_caption


def results_csv(results: CompareResults) -> str:
    """One row per variant plus the gray baseline, overall metrics at full precision; missing values empty."""
    cols, rows = overall(results)
    keys = [c.key for c in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "kind", "description", *keys, "run_dir"])
    for row in rows:
        if row.kind == "truth":
            continue
        vals = []
        for k in keys:
            v = row.values.get(k)
            vals.append("" if not is_finite(v) else (str(int(v)) if k == "images_seen" else repr(float(v))))
        w.writerow([row.label, row.kind, row.description, *vals, "" if row.run_dir is None else str(row.run_dir)])
    return buf.getvalue()


def _md_code(text: str) -> str:
    """``text`` as an inline code span safe inside a Markdown table cell (no HTML, no emphasis)."""
    text = text.replace("\n", " ")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}".replace("|", "\\|")


def _md_text(text: str) -> str:
    """Plain text for a Markdown table cell: pipes and HTML escaped."""
    return html.escape(text.replace("\n", " "), quote=False).replace("|", "\\|")


def _md_fence(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}"


def _md_table(headers: list[str], rows: list[list[str]], right_from: int) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(headers))]
    return ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |", *("| " + " | ".join(r) + " |" for r in rows)]


def rel_link(target: Path, base: Path) -> str:
    """A URL from ``base`` to ``target``: relative where possible, else a file:// URI."""
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return Path(os.path.abspath(target)).as_uri()
    return quote(Path(rel).as_posix())


def _hints_section(results: CompareResults, key: str = "psnr") -> list[str]:
    """The hint models' PSNR per number of hints from the truth, and the plot (nothing without hint models)."""
    hinted = [v for v in results.variants if v.hints]
    if not hinted:
        return []
    fmt = (metric_infos(results).get(key) or describe(key, None)).fmt
    counts = sorted({n for v in hinted for n in v.hints})
    rows = [[_md_code(v.name), *(format(v.hints[n][key], fmt) if n in v.hints and is_finite(v.hints[n].get(key)) else EM_DASH for n in counts)] for v in hinted]
    return ["## Hints", "", *_md_table(["variant", *(str(n) for n in counts)], rows, right_from=1), "",
            f"*{key} with that many hints per photo, each the mean true colour of a small patch at places fixed by the photo's name.*", "",
            f"![{key} against hints]({HINTS_PLOT})", ""]


def results_markdown(results: CompareResults, out_dir: Path | None = None) -> str:
    """The Markdown report: overall table, per-group tables, the command, and each variant's run."""
    cols, rows = overall(results)
    lines = [f"# {_md_text(results.name)}", ""]
    truth = f"{results.truth_colorfulness:.2f}" if is_finite(results.truth_colorfulness) else EM_DASH
    lines += [f"{results.n_images} held-out photos evaluated; truth colourfulness {truth}.", "", "Reproduce with:", "", _md_fence(results.command, "sh"), ""]
    lines += ["## Overall", ""]
    body = []
    for row in rows:
        name = _md_code(row.label) if row.kind == "variant" else f"*{_md_text(row.label)}*"
        desc = _md_code(row.description) if row.kind == "variant" and row.description else _md_text(row.description)
        body.append([name, desc, *(f"**{row.texts[c.key]}**" if c.key in row.bold else row.texts[c.key] for c in cols)])
    lines += _md_table(["variant", "loss", *(_md_text(c.header) for c in cols)], body, right_from=2)
    lines += ["", f"*{_md_text(table_caption(results))}.*", ""]
    tables = group_tables(results)
    if tables:
        lines += ["## Per group", ""]
        for title, headers, trows in tables:
            heads = headers[:3] + [_md_code(h) for h in headers[3:]]
            heads = [_md_text(h) for h in heads[:3]] + heads[3:]
            md_rows = [[_md_text(t) if i == 0 else (f"**{t}**" if b else t) for i, (t, b) in enumerate(r)] for r in trows]
            lines += [f"### {_md_text(title)}", "", *_md_table(heads, md_rows, right_from=1), ""]
        lines += ["Bold: best variant in each group.", ""]
    lines += _hints_section(results)
    lines += ["## Runs", ""]
    for v in results.variants:
        where = rel_link(Path(v.run_dir), out_dir) if out_dir is not None else None
        link = f"[{_md_text(str(v.run_dir))}]({where})" if where else _md_code(str(v.run_dir))
        lines.append(f"- {_md_code(v.name)} ({_md_code(v.description)}): {link}")
    return "\n".join(lines) + "\n"
