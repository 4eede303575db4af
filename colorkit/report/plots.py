"""The ``colorkit compare`` report's plots: ``loss_curves.png``, ``metrics.png`` and, when a variant is
a hint model, ``hints.png``.

Plots use :class:`matplotlib.figure.Figure` directly: no pyplot, no global backend switch.
"""

from __future__ import annotations

import io
import math

import numpy as np

from colorkit.metric_info import MetricInfo, describe
from colorkit.report.results import CompareResults
from colorkit.report.table_model import BASELINE_LABEL, is_finite, metric_infos

HINTS_PLOT = "hints.png"
"""The file of :func:`hints_png` in the report folder, written only when a variant is a hint model."""

_BASELINE_COLOR = "#9e9e9e"
_TRUTH_COLOR = "#222222"


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
        if is_finite(x) and is_finite(y):
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


_BEST = {"high": "higher is better", "low": "lower is better", "abs_low": "closest to 0 is best", "near100": "closest to 100 is best"}


def _panel_title(info: MetricInfo) -> str:
    """The metric's label, unit and which value is best, e.g. "PSNR (dB), higher is better"."""
    unit = f" ({info.unit})" if info.unit else ""
    return f"{info.label}{unit}, {_BEST[info.better]}" if info.better else f"{info.label}{unit}"


def metrics_png(results: CompareResults) -> bytes:
    """Small multiples: one bar chart per metric described with ``plot=True``, gray baseline first, the
    truth's colourfulness as a line. Scores where higher is better may get a zoomed axis (close values)."""
    infos = {k: info for k, info in metric_infos(results).items() if info.plot}
    keys = list(infos)
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
        info = infos[key]
        title, fmt = _panel_title(info), info.plot_fmt
        vals = [results.baseline.get(key), *(v.metrics.get(key) for v in results.variants)]
        heights = [float(v) if is_finite(v) else 0.0 for v in vals]
        bars = ax.bar(x, heights, color=bar_colors, width=0.7, edgecolor="white")
        for text in ax.bar_label(bars, labels=[format(float(v), fmt) if is_finite(v) else "n/a" for v in vals], padding=2, fontsize=8.5):
            text.set_bbox(dict(facecolor="white", edgecolor="none", pad=0.6, alpha=0.85))  # readable across the truth line
        finite = [float(v) for v in vals if is_finite(v)]
        top = max(finite + [0.0])
        bottom = min(finite + [0.0])
        if key == "colorfulness" and is_finite(results.truth_colorfulness):
            t = float(results.truth_colorfulness)
            ax.axhline(t, color=_TRUTH_COLOR, ls="--", lw=1.2)
            title = f"{info.label} (dashed: truth, {t:.1f})"
            top = max(top, t)
        lo, hi = bottom * 1.15, (top * 1.18 if top > 0 else 1.0)
        if info.better == "high" and finite and min(finite) > 0:
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


def hints_png(results: CompareResults, key: str = "psnr") -> bytes:
    """PSNR (or ``key``) against the number of hints per photo from the truth: a line per hint variant;
    the variants without hints and the gray baseline as flat dashed lines, since hints do not reach them."""
    info = metric_infos(results).get(key) or describe(key, None)
    colors = _colors(results)
    counts = sorted({n for v in results.variants for n in v.hints})
    fig = _figure((8, 4.8))
    ax = fig.subplots()
    for v in results.variants:
        if v.hints:
            xs = sorted(v.hints)
            ys = [v.hints[n].get(key, math.nan) for n in xs]
            ax.plot(xs, ys, color=colors[v.name], marker="o", lw=1.8, label=v.name)
            for x, y in zip(xs, ys):
                if is_finite(y):
                    ax.annotate(format(y, info.plot_fmt), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        elif is_finite(v.metrics.get(key)):
            ax.axhline(v.metrics[key], color=colors[v.name], ls="--", lw=1.2, label=f"{v.name} (no hint channels)")
    if is_finite(results.baseline.get(key)):
        ax.axhline(results.baseline[key], color=_BASELINE_COLOR, ls=":", lw=1.2, label=BASELINE_LABEL)
    ax.margins(y=0.12)  # room for the values above the points
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks(counts, [str(n) for n in counts])
    ax.set_xlabel("hints per photo (each the mean true colour of a small patch, at the same places for every variant)")
    ax.set_ylabel(_panel_title(info))
    ax.grid(True, alpha=0.25)
    ax.legend(frameon=False, fontsize=9)
    fig.suptitle(f"{results.name}: {info.label} against hints, {results.n_images} held-out photos", fontsize=13)
    return _png(fig)
