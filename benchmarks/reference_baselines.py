"""Reproduce the first two rows of the UTKFace reference table with colorkit's own metrics.

    python benchmarks/reference_baselines.py --data ../shared/data/utkface --split test --size 256

For each photo of the split: resize to SIZE x SIZE (PIL bicubic), keep its true L and predict
either ab = 0 (all gray) or one constant tint (the train split's mean ab, (12.8, 15.5)), then
score both with :func:`colorkit.metrics.score_prediction` and average over photos. The reference
(``../shared/data/utkface/README.md``, test split, 551 photos):

    gray  19.61 dB  SSIM 0.9411  ab-MSE 326.0  colourfulness  0.00
    tint  25.35 dB  SSIM 0.9461  ab-MSE 108.1  colourfulness 21.67
    truth                                      colourfulness 44.19

Takes about 40 s on 2 CPU cores. ``--groups`` adds per-group means (gender, race, age bin).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.labels import GROUP_KEYS, parse_groups
from colorkit.data.lab import to_float_rgb
from colorkit.metrics import METRIC_NAMES, colorfulness, score_prediction

REFERENCE = {
    "gray": {"psnr": 19.61, "ssim": 0.9411, "ab_mse": 326.0, "colorfulness": 0.00},
    "tint": {"psnr": 25.35, "ssim": 0.9461, "ab_mse": 108.1, "colorfulness": 21.67},
    "truth": {"colorfulness": 44.19},
}
FORMATS = {
    "psnr": "{:8.2f}",
    "ssim": "{:8.4f}",
    "ab_mse": "{:8.1f}",
    "colorfulness": "{:8.2f}",
    "colorfulness_gap": "{:8.2f}",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/utkface"), help="UTKFace folder")
    parser.add_argument("--split", default="test", help="split list under DATA/splits (default: test)")
    parser.add_argument("--size", type=int, default=256, help="square side photos are resized to (bicubic)")
    parser.add_argument("--tint", type=float, nargs=2, default=(12.8, 15.5), metavar=("A", "B"),
                        help="the constant ab of the tint prediction (default: the train mean, 12.8 15.5)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos (a quick look)")
    parser.add_argument("--groups", action="store_true", help="also print means per gender, race and age bin")
    return parser.parse_args(argv)


def load(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as img:
        return to_float_rgb(np.asarray(img.convert("RGB").resize((size, size), Image.BICUBIC)))


def fmt(name: str, value: float) -> str:
    return FORMATS[name].format(value)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    split_file = args.data / "splits" / f"{args.split}.txt"
    if not split_file.is_file():
        print(f"no split list at {split_file}: pass --data pointing at the UTKFace folder", file=sys.stderr)
        return 2
    names = split_file.read_text(encoding="utf-8").split()[: args.limit]
    predictions = {"gray": (0.0, 0.0), "tint": tuple(args.tint)}

    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    group_rows: dict[tuple[str, str], dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    start = time.perf_counter()
    for name in names:
        true = load(args.data / "images" / name, args.size)
        scores = {tag: score_prediction(true, ab) for tag, ab in predictions.items()}
        scores["truth"] = {"colorfulness": colorfulness(true)}
        groups = parse_groups(name) or {}
        for tag, s in scores.items():
            rows[tag].append(s)
            for key in GROUP_KEYS:
                if key in groups:
                    group_rows[(key, groups[key])][tag].append(s)
    seconds = time.perf_counter() - start

    print(f"{args.split} split, {len(names)} photos at {args.size}x{args.size} (PIL bicubic), {seconds:.1f} s")
    print(f"{'prediction':<22}" + "".join(f"{m:>18}" for m in METRIC_NAMES))
    for tag, label in (("gray", "all gray (ab = 0)"), ("tint", f"tint {predictions['tint']}"), ("truth", "the truth")):
        cells = []
        for m in METRIC_NAMES:
            if m not in rows[tag][0]:
                cells.append(f"{'':>18}")
                continue
            ours = float(np.mean([r[m] for r in rows[tag]]))
            ref = REFERENCE.get(tag, {}).get(m)
            ref_s = f" ({FORMATS[m].format(ref).strip()})" if ref is not None else ""
            cells.append(f"{fmt(m, ours).strip() + ref_s:>18}")
        print(f"{label:<22}" + "".join(cells))
    print("(README reference values in parentheses)")

    if args.groups:
        print()
        columns = [(t, m) for t in ("gray", "tint") for m in ("psnr", "ab_mse")]
        print(f"{'group':<18}{'n':>5}" + "".join(f"{t + ' ' + m:>18}" for t, m in columns) + f"{'truth colourf.':>18}")
        for (key, value), by_tag in sorted(group_rows.items()):
            cells = [fmt(m, float(np.mean([r[m] for r in by_tag[t]]))) for t, m in columns]
            cells.append(fmt("colorfulness", float(np.mean([r["colorfulness"] for r in by_tag["truth"]]))))
            print(f"{key + '=' + value:<18}{len(by_tag['truth']):>5}" + "".join(f"{c:>18}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
