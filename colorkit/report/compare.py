"""Side-by-side reports for ``colorkit compare``.

:func:`results_table` gives a Rich table for the terminal; :func:`write_report` writes
``results.csv``, ``results.json``, ``results.md``, ``loss_curves.png``, ``metrics.png``, ``grid.png``
and ``index.html`` into one folder, each through an atomic write (rendered to memory first).

Every text renderer works from the same rows (:func:`_overall`), so the terminal, Markdown, HTML and
CSV always agree. "Best" (bold) is judged among the variants only, never the gray baseline or the
truth, on the values as displayed (so equal-looking numbers are bold together).

Plots use :class:`matplotlib.figure.Figure` directly: no pyplot, no global backend switch.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rich import box
from rich.table import Table
from rich.text import Text

from colorkit.engine.files import atomic_write_bytes, atomic_write_text
from colorkit.errors import ColorkitError
from colorkit.report.results import CompareResults

__all__ = [
    "BASELINE_LABEL",
    "FILES",
    "grid_png",
    "loss_curves_png",
    "metrics_png",
    "results_csv",
    "results_html",
    "results_markdown",
    "results_table",
    "write_report",
]

BASELINE_LABEL = "gray (ab = 0)"
TRUTH_LABEL = "truth"

FILES = {
    "csv": "results.csv",
    "json": "results.json",
    "markdown": "results.md",
    "loss_curves": "loss_curves.png",
    "metrics": "metrics.png",
    "grid": "grid.png",
    "html": "index.html",
}
"""Key in :func:`write_report`'s answer -> file name in the report folder."""

# grid.png geometry (pixels): every row is scaled so its height lies in [GRID_MIN_H, GRID_MAX_H].
GRID_PAD = 4
GRID_TITLE_H = 28
GRID_LABEL_H = 20
GRID_MIN_H = 128
GRID_MAX_H = 256

_BUILTIN_METRICS = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_gap")
_EXTRA_DIRECTIONS = {"lpips": "low"}
_EM_DASH = "\u2014"
_ARROW = {"high": " \u2191", "low": " \u2193", "abs_low": "", "near100": "", None: ""}

_BASELINE_COLOR = "#9e9e9e"
_TRUTH_COLOR = "#222222"


# ----------------------------------------------------------------------------------------------
# rows shared by every text renderer


@dataclass(frozen=True)
class _Col:
    key: str  # CSV / JSON key
    header: str  # short header, with its direction arrow
    better: str | None  # "high", "low", "abs_low" (|x| lowest), "near100", or None (not judged)
    fmt: Callable[[float], str]


@dataclass
class _Row:
    label: str
    description: str
    kind: str  # "baseline", "variant" or "truth"
    values: dict[str, float | None]
    texts: dict[str, str] = field(default_factory=dict)
    bold: set[str] = field(default_factory=set)
    run_dir: Path | None = None


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v))


def _seconds(v: float) -> str:
    if v < 100:
        return f"{v:.1f}"
    if v < 3600:
        return f"{int(v // 60)}m{int(v % 60):02d}s"
    return f"{int(v // 3600)}h{int(v % 3600 // 60):02d}m"


def _fixed(spec: str, suffix: str = "") -> Callable[[float], str]:
    return lambda v: f"{v:{spec}}{suffix}"


def _metric_keys(results: CompareResults) -> list[str]:
    """Built-in metrics first, then any others (e.g. lpips) in the order first seen."""
    seen: list[str] = []
    for m in [results.baseline, *(v.metrics for v in results.variants)]:
        for k in m:
            if k not in seen:
                seen.append(k)
    return [k for k in _BUILTIN_METRICS if k in seen] + [k for k in seen if k not in _BUILTIN_METRICS]


def _columns(results: CompareResults) -> list[_Col]:
    keys = _metric_keys(results)
    extras = [k for k in keys if k not in _BUILTIN_METRICS]
    cols: list[_Col] = []
    if "psnr" in keys:
        cols.append(_Col("psnr", "PSNR dB", "high", _fixed(".2f")))
    if "ssim" in keys:
        cols.append(_Col("ssim", "SSIM", "high", _fixed(".4f")))
    if "ab_mse" in keys:
        cols.append(_Col("ab_mse", "ab-MSE", "low", _fixed(".2f")))
    for k in extras:
        cols.append(_Col(k, k.upper() if k == "lpips" else k, _EXTRA_DIRECTIONS.get(k), _fixed(".4f")))
    if "colorfulness" in keys:
        cols.append(_Col("colorfulness", "colour", None, _fixed(".2f")))
        cols.append(_Col("colorfulness_pct", "% of truth", "near100", _fixed(".1f", "%")))
    if "colorfulness_gap" in keys:
        cols.append(_Col("colorfulness_gap", "gap", "abs_low", _fixed("+.2f")))
    if results.reference is not None:
        cols.append(_Col("delta_psnr", f"\u0394PSNR vs {results.reference}", "high", _fixed("+.2f")))
    cols.append(_Col("train_seconds", "train time", None, _seconds))
    cols.append(_Col("images_seen", "images", None, lambda v: f"{int(v):,}"))
    return [c if c.better not in ("high", "low") else _Col(c.key, c.header + _ARROW[c.better], c.better, c.fmt) for c in cols]


def _pct(value, truth) -> float | None:
    if not (_finite(value) and _finite(truth)) or float(truth) == 0:
        return None
    return 100.0 * float(value) / float(truth)


def _check_reference(results: CompareResults) -> float | None:
    """The reference variant's PSNR (None without a reference); an unknown reference is an error."""
    if results.reference is None:
        return None
    names = [v.name for v in results.variants]
    if results.reference not in names:
        raise ColorkitError(f"reference variant '{results.reference}' is not among the variants: {', '.join(names)}")
    return results.variant(results.reference).metrics.get("psnr")


def _score(col: _Col, value: float) -> float:
    """Lower is better; computed from the displayed rounding so that equal-looking values tie."""
    text = col.fmt(value).rstrip("%").replace(",", "")
    try:
        shown = float(text)
    except ValueError:
        shown = float(value)
    if col.better == "high":
        return -shown
    if col.better == "low":
        return shown
    if col.better == "abs_low":
        return abs(shown)
    return abs(shown - 100.0)  # near100


def _mark_best(rows: list[_Row], cols: Iterable[_Col]) -> None:
    variants = [r for r in rows if r.kind == "variant"]
    if len(variants) < 2:
        return
    for col in cols:
        if col.better is None:
            continue
        scored = [(_score(col, float(r.values[col.key])), r) for r in variants if _finite(r.values.get(col.key))]
        if not scored:
            continue
        best = min(s for s, _ in scored)
        for s, r in scored:
            if s == best:
                r.bold.add(col.key)


def _overall(results: CompareResults) -> tuple[list[_Col], list[_Row]]:
    """Columns and rows (gray baseline, each variant, truth) with their texts and bold cells."""
    ref_psnr = _check_reference(results)
    cols = _columns(results)
    metric_keys = _metric_keys(results)
    truth = results.truth_colorfulness

    def values(metrics: dict[str, float]) -> dict[str, float | None]:
        out: dict[str, float | None] = {k: metrics.get(k) for k in metric_keys}
        out["colorfulness_pct"] = _pct(metrics.get("colorfulness"), truth)
        if results.reference is not None:
            p = metrics.get("psnr")
            out["delta_psnr"] = float(p) - float(ref_psnr) if _finite(p) and _finite(ref_psnr) else None
        return out

    rows = [_Row(BASELINE_LABEL, "all-gray baseline", "baseline", dict(values(results.baseline), train_seconds=None, images_seen=None))]
    for v in results.variants:
        rows.append(
            _Row(v.name, v.description, "variant", dict(values(v.metrics), train_seconds=v.train_seconds, images_seen=v.images_seen), run_dir=Path(v.run_dir))
        )
    truth_values: dict[str, float | None] = {k: None for k in metric_keys}
    truth_values.update(psnr=math.inf, ssim=1.0, ab_mse=0.0, colorfulness=truth, colorfulness_gap=0.0)
    if "lpips" in metric_keys:
        truth_values["lpips"] = 0.0
    truth_values.update(colorfulness_pct=100.0 if _finite(truth) and truth else None, delta_psnr=None, train_seconds=None, images_seen=None)
    rows.append(_Row(TRUTH_LABEL, "the colour photos", "truth", truth_values))

    for row in rows:
        for col in cols:
            v = row.values.get(col.key)
            if v is not None and isinstance(v, float) and math.isinf(v):
                row.texts[col.key] = "inf" if v > 0 else "-inf"
            elif _finite(v):
                row.texts[col.key] = col.fmt(float(v))
            else:
                row.texts[col.key] = _EM_DASH
        if results.reference is not None and row.kind == "variant" and row.label == results.reference:
            row.texts["delta_psnr"] = "ref"
    _mark_best(rows, cols)
    return cols, rows


def _caption(results: CompareResults) -> str:
    parts = ["bold: best variant per column", "\u2191 higher is better, \u2193 lower is better"]
    parts.append("colour: Hasler-Suesstrunk colourfulness")
    parts.append("% of truth: colourfulness as a share of the truth's (closest to 100% is best)")
    parts.append("gap: colourfulness minus the truth's (negative: duller; smallest |gap| is best)")
    if results.reference is not None:
        parts.append(f"\u0394PSNR: dB above the reference variant '{results.reference}'")
    return "; ".join(parts)


def _title(results: CompareResults) -> str:
    n = len(results.variants)
    return f"{results.name}: {n} variant{'s' if n != 1 else ''} on {results.n_images} held-out photo{'s' if results.n_images != 1 else ''}"


def results_table(results: CompareResults) -> Table:
    """A Rich table: the gray baseline, one row per variant, and the truth; best variant values in bold."""
    cols, rows = _overall(results)
    table = Table(title=_title(results), caption=_caption(results), caption_justify="left", box=box.SIMPLE_HEAVY, show_edge=False, pad_edge=False, collapse_padding=True)
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


# ----------------------------------------------------------------------------------------------
# per-group rows


def _group_names(results: CompareResults) -> list[str]:
    names = list(results.group_counts)
    for source in [results.baseline_groups, results.truth_group_colorfulness, *(v.groups for v in results.variants)]:
        for g in source:
            if g not in names:
                names.append(g)
    return names


def _group_tables(results: CompareResults) -> list[tuple[str, list[str], list[list[tuple[str, bool]]]]]:
    """Per-group PSNR and colourfulness-% tables: (title, headers, rows of (text, bold)) each."""
    groups = _group_names(results)
    if not groups:
        return []
    variants = results.variants
    psnr_rows, pct_rows = [], []
    psnr_col = _Col("psnr", "", "high", _fixed(".2f"))
    pct_col = _Col("pct", "", "near100", _fixed(".1f", "%"))

    def cells(values: list[float | None], col: _Col) -> list[tuple[str, bool]]:
        scored = [_score(col, float(v)) if _finite(v) else None for v in values]
        finite = [s for s in scored if s is not None]
        best = min(finite) if len(finite) >= 1 and len(variants) >= 2 else None
        return [(col.fmt(float(v)) if _finite(v) else _EM_DASH, best is not None and s == best) for v, s in zip(values, scored)]

    for g in groups:
        n = results.group_counts.get(g)
        head = [(g, False), (str(n) if n is not None else _EM_DASH, False)]
        base = results.baseline_groups.get(g, {}).get("psnr")
        psnr = [v.groups.get(g, {}).get("psnr") for v in variants]
        psnr_rows.append(head + [(psnr_col.fmt(float(base)) if _finite(base) else _EM_DASH, False)] + cells(psnr, psnr_col))
        truth = results.truth_group_colorfulness.get(g)
        pct = [_pct(v.groups.get(g, {}).get("colorfulness"), truth) for v in variants]
        pct_rows.append(head + [(f"{truth:.2f}" if _finite(truth) else _EM_DASH, False)] + cells(pct, pct_col))
    names = [v.name for v in variants]
    return [
        ("PSNR per group (dB, \u2191 higher is better)", ["group", "n", BASELINE_LABEL, *names], psnr_rows),
        ("Colourfulness per group, as % of the truth's (closest to 100% is best)", ["group", "n", "truth colourfulness", *names], pct_rows),
    ]


# ----------------------------------------------------------------------------------------------
# CSV, Markdown, HTML


def results_csv(results: CompareResults) -> str:
    """One row per variant plus the gray baseline, overall metrics at full precision; missing values empty."""
    cols, rows = _overall(results)
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
            vals.append("" if not _finite(v) else (str(int(v)) if k == "images_seen" else repr(float(v))))
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


def _rel_link(target: Path, base: Path) -> str:
    """A URL from ``base`` to ``target``: relative where possible, else a file:// URI."""
    try:
        rel = os.path.relpath(os.path.abspath(target), os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return Path(os.path.abspath(target)).as_uri()
    return quote(Path(rel).as_posix())


def results_markdown(results: CompareResults, out_dir: Path | None = None) -> str:
    """The Markdown report: overall table, per-group tables, the command, and each variant's run."""
    cols, rows = _overall(results)
    lines = [f"# {_md_text(results.name)}", ""]
    truth = f"{results.truth_colorfulness:.2f}" if _finite(results.truth_colorfulness) else _EM_DASH
    lines += [f"{results.n_images} held-out photos evaluated; truth colourfulness {truth}.", "", "Reproduce with:", "", _md_fence(results.command, "sh"), ""]
    lines += ["## Overall", ""]
    body = []
    for row in rows:
        name = _md_code(row.label) if row.kind == "variant" else f"*{_md_text(row.label)}*"
        desc = _md_code(row.description) if row.kind == "variant" and row.description else _md_text(row.description)
        body.append([name, desc, *(f"**{row.texts[c.key]}**" if c.key in row.bold else row.texts[c.key] for c in cols)])
    lines += _md_table(["variant", "loss", *(_md_text(c.header) for c in cols)], body, right_from=2)
    lines += ["", f"*{_md_text(_caption(results))}.*", ""]
    tables = _group_tables(results)
    if tables:
        lines += ["## Per group", ""]
        for title, headers, trows in tables:
            heads = headers[:3] + [_md_code(h) for h in headers[3:]]
            heads = [_md_text(h) for h in heads[:3]] + heads[3:]
            md_rows = [[_md_text(t) if i == 0 else (f"**{t}**" if b else t) for i, (t, b) in enumerate(r)] for r in trows]
            lines += [f"### {_md_text(title)}", "", *_md_table(heads, md_rows, right_from=1), ""]
        lines += ["Bold: best variant in each group.", ""]
    lines += ["## Runs", ""]
    for v in results.variants:
        where = _rel_link(Path(v.run_dir), out_dir) if out_dir is not None else None
        link = f"[{_md_text(str(v.run_dir))}]({where})" if where else _md_code(str(v.run_dir))
        lines.append(f"- {_md_code(v.name)} ({_md_code(v.description)}): {link}")
    return "\n".join(lines) + "\n"


_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e4e4e4; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; font-weight: 600; } td.num, th.num { text-align: right; }
tr.baseline td, tr.truth td { color: #777; font-style: italic; } tr.truth td { border-top: 2px solid #ccc; }
td strong { color: #000; } caption { caption-side: bottom; text-align: left; color: #666; font-size: .85rem; padding-top: .3rem; white-space: normal; }
pre { background: #f6f6f6; padding: .7rem 1rem; overflow-x: auto; border-radius: 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; } figcaption { color: #666; font-size: .85rem; }
.scroll { overflow-x: auto; } .muted { color: #666; }
"""


def results_html(results: CompareResults, out_dir: Path | None = None) -> str:
    """A self-contained page (inline CSS, no JS); PNGs and run folders are linked relative to ``out_dir``."""
    e = html.escape
    cols, rows = _overall(results)
    truth = f"{results.truth_colorfulness:.2f}" if _finite(results.truth_colorfulness) else _EM_DASH
    p = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(results.name)} \u2014 colorkit compare</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(results.name)}</h1>",
        f'<p class="muted">{e(_title(results))}; truth colourfulness {e(truth)}.</p>',
        "<h2>Overall</h2>",
        '<div class="scroll"><table>',
        f"<caption>{e(_caption(results))}.</caption>",
        "<thead><tr><th>variant</th><th>loss</th>" + "".join(f'<th class="num">{e(c.header)}</th>' for c in cols) + "</tr></thead><tbody>",
    ]
    for row in rows:
        tds = [f"<td>{e(row.label)}</td>", f"<td><code>{e(row.description)}</code></td>" if row.kind == "variant" else f"<td>{e(row.description)}</td>"]
        for c in cols:
            t = e(row.texts[c.key])
            tds.append(f'<td class="num">{f"<strong>{t}</strong>" if c.key in row.bold else t}</td>')
        p.append(f'<tr class="{row.kind}">' + "".join(tds) + "</tr>")
    p.append("</tbody></table></div>")

    tables = _group_tables(results)
    if tables:
        p.append("<h2>Per group</h2>")
        for title, headers, trows in tables:
            p.append(f'<div class="scroll"><table><caption>{e(title)}; bold: best variant in the group.</caption><thead><tr>')
            p.append("".join(f'<th{"" if i == 0 else " class=num"}>{e(h)}</th>' for i, h in enumerate(headers)) + "</tr></thead><tbody>")
            for r in trows:
                cells = []
                for i, (t, b) in enumerate(r):
                    t = e(t)
                    cells.append(f'<td{"" if i == 0 else " class=num"}>{f"<strong>{t}</strong>" if b else t}</td>')
                p.append("<tr>" + "".join(cells) + "</tr>")
            p.append("</tbody></table></div>")

    figures = [
        ("grid", "Photos: gray input | each variant | truth."),
        ("metrics", "Overall metrics per variant beside the gray baseline."),
        ("loss_curves", "Training curves against images seen."),
    ]
    p.append("<h2>Images</h2>")
    for key, caption in figures:
        src = e(quote(FILES[key]))
        p.append(f'<figure><a href="{src}"><img src="{src}" alt="{e(caption)}"></a><figcaption>{e(caption)}</figcaption></figure>')

    p.append("<h2>Reproduce</h2>")
    p.append(f"<pre><code>{e(results.command)}</code></pre>")
    p.append("<h2>Runs</h2><ul>")
    for v in results.variants:
        href = _rel_link(Path(v.run_dir), out_dir) if out_dir is not None else Path(os.path.abspath(v.run_dir)).as_uri()
        p.append(f'<li><strong>{e(v.name)}</strong> (<code>{e(v.description)}</code>): <a href="{e(href)}/">{e(str(v.run_dir))}</a></li>')
    p.append("</ul>")
    files = " \u00b7 ".join(f'<a href="{e(quote(FILES[k]))}">{e(FILES[k])}</a>' for k in ("csv", "json", "markdown"))
    p.append(f'<p class="muted">Data: {files}</p>')
    p.append("</body></html>")
    return "\n".join(p) + "\n"


# ----------------------------------------------------------------------------------------------
# plots


def _figure(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def _colors(results: CompareResults) -> dict[str, str]:
    from matplotlib import colormaps

    # qualitative palettes without their grays, which belong to the gray baseline
    if len(results.variants) <= 9:
        cmap, keep = colormaps["tab10"], [i for i in range(10) if i != 7]
    else:
        cmap, keep = colormaps["tab20"], [i for i in range(20) if i not in (14, 15)]
    hexes = ["#{:02x}{:02x}{:02x}".format(*(int(round(c * 255)) for c in cmap(keep[i % len(keep)])[:3])) for i in range(len(results.variants))]
    return {v.name: h for v, h in zip(results.variants, hexes)}


def _images_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _pos):
        if abs(x) >= 1e6:
            return f"{x / 1e6:g}M"
        if abs(x) >= 1e3:
            return f"{x / 1e3:g}k"
        return f"{x:g}"

    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.set_xlabel("images seen")


def _maybe_log(ax, values: list[float]) -> None:
    vals = [v for v in values if math.isfinite(v)]
    if vals and min(vals) > 0 and max(vals) / min(vals) >= 5:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:g}"))  # 0.5, not 5x10^-1
        ax.yaxis.set_minor_formatter(NullFormatter())


def _curve_points(curve: list[dict], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for rec in curve:
        x, y = rec.get("images"), rec.get(key)
        if _finite(x) and _finite(y):
            xs.append(float(x))
            ys.append(float(y))
    return xs, ys


def _empty_panel(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def loss_curves_png(results: CompareResults) -> bytes:
    """Left: each variant's train loss divided by its own first value; right: a validation metric, raw."""
    colors = _colors(results)
    fig = _figure((12, 4.6))
    ax_loss, ax_val = fig.subplots(1, 2)
    all_rel: list[float] = []
    for v in results.variants:
        xs, ys = _curve_points(v.curve, "train_loss")
        if not ys:
            continue
        first = ys[0]
        rel = [1.0 + (y - first) / abs(first) for y in ys] if first != 0 else [y - first for y in ys]  # = y / first when first > 0
        all_rel += rel
        ax_loss.plot(xs, rel, color=colors[v.name], marker="o" if len(xs) <= 30 else None, ms=3, lw=1.6, label=v.name)
    if all_rel:
        ax_loss.axhline(1.0, color="#bbbbbb", lw=0.8, ls=":")
        _maybe_log(ax_loss, all_rel)
        ax_loss.set_ylabel("train loss / first value")
        _images_axis(ax_loss)
        ax_loss.grid(True, which="both", alpha=0.25)
    else:
        _empty_panel(ax_loss, "no training records")
    ax_loss.set_title("Train loss relative to its first value\n(each variant's loss has its own scale)", fontsize=11)

    val_key = next((k for k in ("val_ab_mse", "val_psnr") if any(_curve_points(v.curve, k)[1] for v in results.variants)), None)
    if val_key is None:
        _empty_panel(ax_val, "no validation records")
        ax_val.set_title("Validation", fontsize=11)
    else:
        all_val: list[float] = []
        for v in results.variants:
            xs, ys = _curve_points(v.curve, val_key)
            if ys:
                all_val += ys
                ax_val.plot(xs, ys, color=colors[v.name], marker="o" if len(xs) <= 30 else None, ms=3, lw=1.6, label=v.name)
        _maybe_log(ax_val, all_val)
        _images_axis(ax_val)
        ax_val.grid(True, which="both", alpha=0.25)
        if val_key == "val_ab_mse":
            ax_val.set_ylabel("ab-MSE (LAB units\u00b2)")
            ax_val.set_title("Validation ab-MSE (same units for all; lower is better)", fontsize=11)
        else:
            ax_val.set_ylabel("PSNR (dB)")
            ax_val.set_title("Validation PSNR (higher is better)", fontsize=11)
    handles, labels = ax_loss.get_legend_handles_labels()
    if not handles:
        handles, labels = ax_val.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
    fig.suptitle(f"{results.name}: training curves", fontsize=13)
    return _png(fig)


_ZOOM = ("psnr", "ssim")  # panels whose axis may start above 0 when the values are close

_BAR_PANELS = {
    "psnr": ("PSNR (dB), higher is better", ".2f"),
    "ssim": ("SSIM, higher is better", ".3f"),
    "ab_mse": ("ab-MSE, lower is better", ".1f"),
    "colorfulness": ("Colourfulness", ".1f"),
    "lpips": ("LPIPS, lower is better", ".3f"),
}


def metrics_png(results: CompareResults) -> bytes:
    """Small multiples: one bar chart per metric, gray baseline first, the truth's colourfulness as a line."""
    keys = [k for k in _BAR_PANELS if k in _metric_keys(results)]
    colors = _colors(results)
    labels = [BASELINE_LABEL, *(v.name for v in results.variants)]
    bar_colors = [_BASELINE_COLOR, *(colors[v.name] for v in results.variants)]
    ncols = 2 if len(keys) <= 4 else 3
    nrows = max(1, math.ceil(len(keys) / ncols))
    width = max(9.0, min(18.0, 1.6 + 0.75 * len(labels) * ncols))
    fig = _figure((width, 3.4 * nrows + 0.9))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    rotate = any(len(s) > 8 for s in labels) or len(labels) > 6
    x = np.arange(len(labels))
    for ax, key in zip(axes, keys):
        title, fmt = _BAR_PANELS[key]
        vals = [results.baseline.get(key), *(v.metrics.get(key) for v in results.variants)]
        heights = [float(v) if _finite(v) else 0.0 for v in vals]
        bars = ax.bar(x, heights, color=bar_colors, width=0.7, edgecolor="white")
        for text in ax.bar_label(bars, labels=[format(float(v), fmt) if _finite(v) else "n/a" for v in vals], padding=2, fontsize=8.5):
            text.set_bbox(dict(facecolor="white", edgecolor="none", pad=0.6, alpha=0.85))  # readable across the truth line
        finite = [float(v) for v in vals if _finite(v)]
        top = max(finite + [0.0])
        bottom = min(finite + [0.0])
        if key == "colorfulness" and _finite(results.truth_colorfulness):
            t = float(results.truth_colorfulness)
            ax.axhline(t, color=_TRUTH_COLOR, ls="--", lw=1.2)
            title = f"Colourfulness (dashed: truth, {t:.1f})"
            top = max(top, t)
        lo, hi = bottom * 1.15, (top * 1.18 if top > 0 else 1.0)
        if key in _ZOOM and finite and min(finite) > 0:
            # close scores on a 0-based axis look identical: zoom in, say so, and keep the numbers on the bars
            span = max(finite) - min(finite)
            if span < 0.15 * max(finite):
                lo = max(0.0, min(finite) - max(span, 0.02 * max(finite)) * 1.5)
                hi = max(finite) + max(span, 0.02 * max(finite)) * 0.45
                title += " (axis zoomed)"
        ax.set_ylim(lo, hi)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(x, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center", fontsize=9)
        ax.grid(True, axis="y", alpha=0.25)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    if not keys:
        _empty_panel(axes[0], "no metrics")
        axes[0].set_visible(True)
    fig.suptitle(f"{results.name}: {results.n_images} held-out photos", fontsize=13)
    return _png(fig)


# ----------------------------------------------------------------------------------------------
# image grid


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the small bitmap font only
        return ImageFont.load_default()


def _as_image(a) -> Image.Image:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(a.astype(np.float64) * (255.0 if a.max(initial=0) <= 1.0 else 1.0) + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"grid image of shape {a.shape}: expected (H, W, 3)")
    return Image.fromarray(np.ascontiguousarray(a[..., :3]))


def _row_scale(h: int) -> float:
    if h < GRID_MIN_H:
        return float(math.ceil(GRID_MIN_H / h))  # whole-number upscale, nearest neighbour: pixels stay honest
    if h > GRID_MAX_H:
        return GRID_MAX_H / h
    return 1.0


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026"


def grid_png(results: CompareResults) -> bytes:
    """Rows = photos (name above each), columns = the grid's keys ("gray", each variant, "truth"), titled.

    Each row is scaled by one factor so its height lies in [GRID_MIN_H, GRID_MAX_H] (small images by a
    whole number, nearest neighbour); a column is as wide as its widest scaled image.
    """
    titles = list(results.grid)
    names = list(results.grid_names)
    for t in titles:
        if len(results.grid[t]) != len(names):
            raise ValueError(f"grid column '{t}' has {len(results.grid[t])} images for {len(names)} rows")
    if not titles or not names:
        img = Image.new("RGB", (320, 60), "white")
        ImageDraw.Draw(img).text((10, 20), "no photos to show", fill="#555555", font=_font(14))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()
    cells: list[list[Image.Image]] = []
    for r in range(len(names)):
        row = [_as_image(results.grid[t][r]) for t in titles]
        s = _row_scale(max(im.height for im in row))
        if s != 1.0:
            method = Image.Resampling.NEAREST if s > 1 else Image.Resampling.LANCZOS
            row = [im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), method) for im in row]
        cells.append(row)
    col_w = [max(cells[r][c].width for r in range(len(names))) for c in range(len(titles))]
    row_h = [max(im.height for im in row) for row in cells]
    width = GRID_PAD + sum(w + GRID_PAD for w in col_w)
    height = GRID_TITLE_H + sum(GRID_LABEL_H + h + GRID_PAD for h in row_h)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    title_font, label_font = _font(15), _font(12)
    x = GRID_PAD
    for t, w in zip(titles, col_w):
        text = _fit(draw, t, title_font, w)
        draw.text((x + w / 2, GRID_TITLE_H / 2 + 1), text, fill="#111111", font=title_font, anchor="mm")
        x += w + GRID_PAD
    y = GRID_TITLE_H
    for name, row, h in zip(names, cells, row_h):
        draw.text((GRID_PAD, y + GRID_LABEL_H / 2), _fit(draw, name, label_font, width - 2 * GRID_PAD), fill="#666666", font=label_font, anchor="lm")
        y += GRID_LABEL_H
        x = GRID_PAD
        for im, w in zip(row, col_w):
            canvas.paste(im, (x + (w - im.width) // 2, y + (h - im.height) // 2))
            x += w + GRID_PAD
        y += h + GRID_PAD
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------


def write_report(out_dir: Path, results: CompareResults) -> dict[str, Path]:
    """Write the whole report into ``out_dir`` (created if needed); answers key -> path (see :data:`FILES`).

    Every file is rendered in memory first and written atomically, so a failure leaves either the
    previous file or the new one, never half of it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_reference(results)
    paths = {k: out_dir / name for k, name in FILES.items()}
    atomic_write_text(paths["csv"], results_csv(results))
    # not atomic_write_json: that sorts keys, and the order of groups and metrics is worth keeping
    atomic_write_text(paths["json"], json.dumps(results.to_json(), indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["markdown"], results_markdown(results, out_dir))
    atomic_write_bytes(paths["loss_curves"], loss_curves_png(results))
    atomic_write_bytes(paths["metrics"], metrics_png(results))
    atomic_write_bytes(paths["grid"], grid_png(results))
    atomic_write_text(paths["html"], results_html(results, out_dir))
    return paths
