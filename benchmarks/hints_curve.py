"""PSNR against the number of hints per photo, from `colorkit evaluate --hints ... --json` files.

    python benchmarks/hints_curve.py "UTKFace hint model=utk_hints.json" "faces-scenes-hints=fs_hints.json" \
        --flat "recipe without [hints]=utk_plain.json" -o docs/images/hints-curve.png

A line per hint model (its rows ``model``, ``model + 1 hint``, ...); each ``--flat`` file (a model
without hint channels) and the gray baseline of the first file as flat dashed lines. Prints the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.figure import Figure

from colorkit.inference.evaluate import hints_row


def _labelled(arg: str) -> tuple[str, dict]:
    label, _, path = arg.rpartition("=")
    return label or Path(path).stem, json.loads(Path(path).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("curves", nargs="+", help="LABEL=EVALUATE.json of a hint model measured with --hints")
    parser.add_argument("--flat", action="append", default=[], help="LABEL=EVALUATE.json of a model without hints")
    parser.add_argument("--metric", default="psnr")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    fig = Figure(figsize=(8, 4.8), dpi=100, layout="constrained")
    ax = fig.subplots()
    counts: set[int] = set()
    for label, data in map(_labelled, args.curves):
        xs = data.get("hint_counts") or [0]
        ys = [data["overall"][hints_row(n)][args.metric] for n in xs]
        counts.update(xs)
        ax.plot(xs, ys, marker="o", lw=1.8, label=f"{label} ({data['n']} photos)")
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.2f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        print(f"{label}: " + ", ".join(f"{n} hints {y:.2f}" for n, y in zip(xs, ys)))
    for label, data in map(_labelled, args.flat):
        y = data["overall"]["model"][args.metric]
        ax.axhline(y, ls="--", lw=1.2, color="#555555", label=f"{label} (no hint channels)")
        print(f"{label}: {y:.2f}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks(sorted(counts), [str(n) for n in sorted(counts)])
    ax.set_xlabel("hints per photo (the mean true colour of a small patch, at places fixed by the photo's name)")
    ax.set_ylabel(f"{args.metric} (higher is better)")
    ax.grid(True, alpha=0.25)
    ax.margins(y=0.12)
    ax.legend(frameon=False, fontsize=9)
    fig.savefig(args.output, format="png", dpi=100, facecolor="white")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
