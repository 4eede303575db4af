"""The rows every text renderer of the ``colorkit compare`` report shares.

:func:`overall` gives the columns and rows (gray baseline, each variant, truth) with their texts and
bold cells, :func:`group_tables` the per-group tables; the terminal, Markdown, HTML and CSV all render
these, so they always agree. "Best" (bold) is judged among the variants only, never the gray baseline
or the truth, on the values as displayed (so equal-looking numbers are bold together). A metric's
column (header, format, which value is best, the truth's own score) is its
:class:`~colorkit.metric_info.MetricInfo`, see :func:`metric_infos`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from colorkit.errors import ColorkitError
from colorkit.metric_info import Better, MetricInfo, describe
from colorkit.metrics import BUILTIN_METRICS, METRIC_NAMES
from colorkit.report.results import CompareResults

BASELINE_LABEL = "gray (ab = 0)"
TRUTH_LABEL = "truth"
EM_DASH = "\u2014"

_COLOURFULNESS = ("colorfulness", "colorfulness_gap")  # last, around the "% of truth" column derived from the first
_ARROW = {"high": " \u2191", "low": " \u2193", "abs_low": "", "near100": "", None: ""}


@dataclass(frozen=True)
class Col:
    key: str  # CSV / JSON key
    header: str  # short header, with its direction arrow
    better: Better | None  # "high", "low", "abs_low" (|x| lowest), "near100", or None (not judged)
    fmt: Callable[[float], str]


@dataclass
class Row:
    label: str
    description: str
    kind: str  # "baseline", "variant" or "truth"
    values: dict[str, float | None]
    texts: dict[str, str] = field(default_factory=dict)
    bold: set[str] = field(default_factory=set)
    run_dir: Path | None = None


def is_finite(v) -> bool:
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
    return [k for k in METRIC_NAMES if k in seen] + [k for k in seen if k not in METRIC_NAMES]


def metric_infos(results: CompareResults) -> dict[str, MetricInfo]:
    """How each metric of ``results`` is judged and shown, in :func:`_metric_keys` order: as described in
    ``results.metric_info``, else as the built-in metric of that name, else generically (not judged)."""
    out = {}
    for k in _metric_keys(results):
        given = results.metric_info.get(k)
        out[k] = given.resolved(k) if given is not None else describe(k, BUILTIN_METRICS.get(k))
    return out


def _metric_col(key: str, info: MetricInfo) -> Col:
    return Col(key, info.header, info.better, _fixed(info.fmt))


def _columns(results: CompareResults) -> list[Col]:
    infos = metric_infos(results)
    cols = [_metric_col(k, info) for k, info in infos.items() if k not in _COLOURFULNESS]
    if "colorfulness" in infos:
        cols.append(_metric_col("colorfulness", infos["colorfulness"]))
        cols.append(Col("colorfulness_pct", "% of truth", "near100", _fixed(".1f", "%")))
    if "colorfulness_gap" in infos:
        cols.append(_metric_col("colorfulness_gap", infos["colorfulness_gap"]))
    if results.reference is not None:
        cols.append(Col("delta_psnr", f"\u0394PSNR vs {results.reference}", "high", _fixed("+.2f")))
    cols.append(Col("train_seconds", "train time", None, _seconds))
    cols.append(Col("images_seen", "images", None, lambda v: f"{int(v):,}"))
    return [c if c.better not in ("high", "low") else Col(c.key, c.header + _ARROW[c.better], c.better, c.fmt) for c in cols]


def _percent_of(value, truth) -> float | None:
    if not (is_finite(value) and is_finite(truth)) or float(truth) == 0:
        return None
    return 100.0 * float(value) / float(truth)


def check_reference(results: CompareResults) -> float | None:
    """The reference variant's PSNR (None without a reference); an unknown reference is an error."""
    if results.reference is None:
        return None
    names = [v.name for v in results.variants]
    if results.reference not in names:
        raise ColorkitError(f"reference variant '{results.reference}' is not among the variants: {', '.join(names)}")
    return results.variant(results.reference).metrics.get("psnr")


def _score(col: Col, value: float) -> float:
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


def _mark_best(rows: list[Row], cols: Iterable[Col]) -> None:
    variants = [r for r in rows if r.kind == "variant"]
    if len(variants) < 2:
        return
    for col in cols:
        if col.better is None:
            continue
        scored = [(_score(col, float(r.values[col.key])), r) for r in variants if is_finite(r.values.get(col.key))]
        if not scored:
            continue
        best = min(s for s, _ in scored)
        for s, r in scored:
            if s == best:
                r.bold.add(col.key)


def overall(results: CompareResults) -> tuple[list[Col], list[Row]]:
    """Columns and rows (gray baseline, each variant, truth) with their texts and bold cells."""
    ref_psnr = check_reference(results)
    cols = _columns(results)
    infos = metric_infos(results)
    truth = results.truth_colorfulness

    def values(metrics: dict[str, float]) -> dict[str, float | None]:
        out: dict[str, float | None] = {k: metrics.get(k) for k in infos}
        out["colorfulness_pct"] = _percent_of(metrics.get("colorfulness"), truth)
        if results.reference is not None:
            p = metrics.get("psnr")
            out["delta_psnr"] = float(p) - float(ref_psnr) if is_finite(p) and is_finite(ref_psnr) else None
        return out

    rows = [Row(BASELINE_LABEL, "all-gray baseline", "baseline", dict(values(results.baseline), train_seconds=None, images_seen=None))]
    for v in results.variants:
        rows.append(
            Row(v.name, v.description, "variant", dict(values(v.metrics), train_seconds=v.train_seconds, images_seen=v.images_seen), run_dir=Path(v.run_dir))
        )
    truth_values: dict[str, float | None] = {k: info.perfect for k, info in infos.items()}
    truth_values.update(colorfulness=truth, colorfulness_pct=100.0 if is_finite(truth) and truth else None, delta_psnr=None, train_seconds=None, images_seen=None)
    rows.append(Row(TRUTH_LABEL, "the colour photos", "truth", truth_values))

    for row in rows:
        for col in cols:
            v = row.values.get(col.key)
            if v is not None and isinstance(v, float) and math.isinf(v):
                row.texts[col.key] = "inf" if v > 0 else "-inf"
            elif is_finite(v):
                row.texts[col.key] = col.fmt(float(v))
            else:
                row.texts[col.key] = EM_DASH
        if results.reference is not None and row.kind == "variant" and row.label == results.reference:
            row.texts["delta_psnr"] = "ref"
    _mark_best(rows, cols)
    return cols, rows


def table_caption(results: CompareResults) -> str:
    parts = ["bold: best variant per column", "\u2191 higher is better, \u2193 lower is better"]
    parts.append("colour: Hasler-Suesstrunk colourfulness")
    parts.append("% of truth: colourfulness as a share of the truth's (closest to 100% is best)")
    parts.append("gap: colourfulness minus the truth's (negative: duller; smallest |gap| is best)")
    if results.reference is not None:
        parts.append(f"\u0394PSNR: dB above the reference variant '{results.reference}'")
    return "; ".join(parts)


def table_title(results: CompareResults) -> str:
    n = len(results.variants)
    return f"{results.name}: {n} variant{'s' if n != 1 else ''} on {results.n_images} held-out photo{'s' if results.n_images != 1 else ''}"



def _group_names(results: CompareResults) -> list[str]:
    names = list(results.group_counts)
    for source in [results.baseline_groups, results.truth_group_colorfulness, *(v.groups for v in results.variants)]:
        for g in source:
            if g not in names:
                names.append(g)
    return names


def group_tables(results: CompareResults) -> list[tuple[str, list[str], list[list[tuple[str, bool]]]]]:
    """Per-group PSNR and colourfulness-% tables: (title, headers, rows of (text, bold)) each."""
    groups = _group_names(results)
    if not groups:
        return []
    variants = results.variants
    psnr_rows, pct_rows = [], []
    psnr_col = Col("psnr", "", "high", _fixed(".2f"))
    pct_col = Col("pct", "", "near100", _fixed(".1f", "%"))

    def cells(values: list[float | None], col: Col) -> list[tuple[str, bool]]:
        scored = [_score(col, float(v)) if is_finite(v) else None for v in values]
        finite = [s for s in scored if s is not None]
        best = min(finite) if len(finite) >= 1 and len(variants) >= 2 else None
        return [(col.fmt(float(v)) if is_finite(v) else EM_DASH, best is not None and s == best) for v, s in zip(values, scored)]

    for g in groups:
        n = results.group_counts.get(g)
        head = [(g, False), (str(n) if n is not None else EM_DASH, False)]
        base = results.baseline_groups.get(g, {}).get("psnr")
        psnr = [v.groups.get(g, {}).get("psnr") for v in variants]
        psnr_rows.append(head + [(psnr_col.fmt(float(base)) if is_finite(base) else EM_DASH, False)] + cells(psnr, psnr_col))
        truth = results.truth_group_colorfulness.get(g)
        pct = [_percent_of(v.groups.get(g, {}).get("colorfulness"), truth) for v in variants]
        pct_rows.append(head + [(f"{truth:.2f}" if is_finite(truth) else EM_DASH, False)] + cells(pct, pct_col))
    names = [v.name for v in variants]
    return [
        ("PSNR per group (dB, \u2191 higher is better)", ["group", "n", BASELINE_LABEL, *names], psnr_rows),
        ("Colourfulness per group, as % of the truth's (closest to 100% is best)", ["group", "n", "truth colourfulness", *names], pct_rows),
    ]
