"""The ``colorkit compare`` report's ``index.html``: one self-contained page linking every file of the report."""

from __future__ import annotations

import html
import os
from pathlib import Path
from urllib.parse import quote

from colorkit.report.plots import HINTS_PLOT
from colorkit.report.results import CompareResults
from colorkit.report.table_model import EM_DASH, group_tables, is_finite, overall, table_caption, table_title
from colorkit.report.text_files import rel_link

FILES = {
    "csv": "results.csv",
    "json": "results.json",
    "markdown": "results.md",
    "loss_curves": "loss_curves.png",
    "metrics": "metrics.png",
    "grid": "grid.png",
    "html": "index.html",
}
"""Key in :func:`colorkit.report.compare.write_report`'s answer -> file name in the report folder."""
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
    cols, rows = overall(results)
    truth = f"{results.truth_colorfulness:.2f}" if is_finite(results.truth_colorfulness) else EM_DASH
    p = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(results.name)} \u2014 colorkit compare</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(results.name)}</h1>",
        f'<p class="muted">{e(table_title(results))}; truth colourfulness {e(truth)}.</p>',
        "<h2>Overall</h2>",
        '<div class="scroll"><table>',
        f"<caption>{e(table_caption(results))}.</caption>",
        "<thead><tr><th>variant</th><th>loss</th>" + "".join(f'<th class="num">{e(c.header)}</th>' for c in cols) + "</tr></thead><tbody>",
    ]
    for row in rows:
        tds = [f"<td>{e(row.label)}</td>", f"<td><code>{e(row.description)}</code></td>" if row.kind == "variant" else f"<td>{e(row.description)}</td>"]
        for c in cols:
            t = e(row.texts[c.key])
            tds.append(f'<td class="num">{f"<strong>{t}</strong>" if c.key in row.bold else t}</td>')
        p.append(f'<tr class="{row.kind}">' + "".join(tds) + "</tr>")
    p.append("</tbody></table></div>")

    tables = group_tables(results)
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
        (FILES["grid"], "Photos: gray input | each variant | truth."),
        (FILES["metrics"], "Overall metrics per variant beside the gray baseline."),
        (FILES["loss_curves"], "Training curves against images seen."),
    ]
    if any(v.hints for v in results.variants):
        figures.append((HINTS_PLOT, "PSNR against the number of hints per photo taken from the truth (hint models)."))
    p.append("<h2>Images</h2>")
    for name, caption in figures:
        src = e(quote(name))
        p.append(f'<figure><a href="{src}"><img src="{src}" alt="{e(caption)}"></a><figcaption>{e(caption)}</figcaption></figure>')

    p.append("<h2>Reproduce</h2>")
    p.append(f"<pre><code>{e(results.command)}</code></pre>")
    p.append("<h2>Runs</h2><ul>")
    for v in results.variants:
        href = rel_link(Path(v.run_dir), out_dir) if out_dir is not None else Path(os.path.abspath(v.run_dir)).as_uri()
        p.append(f'<li><strong>{e(v.name)}</strong> (<code>{e(v.description)}</code>): <a href="{e(href)}/">{e(str(v.run_dir))}</a></li>')
    p.append("</ul>")
    files = " \u00b7 ".join(f'<a href="{e(quote(FILES[k]))}">{e(FILES[k])}</a>' for k in ("csv", "json", "markdown"))
    p.append(f'<p class="muted">Data: {files}</p>')
    p.append("</body></html>")
    return "\n".join(p) + "\n"
