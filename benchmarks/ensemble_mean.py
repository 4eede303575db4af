"""How much averaging models' colours buys: PSNR and colourfulness of each model and of the mean ab of
every combination of them, on a split.

    python benchmarks/ensemble_mean.py ../shared/data/utkface faces-scenes runs/A runs/B --split val

Photos are resized and coloured as `colorkit evaluate` does (each model's ab upsampled onto the
photo's own L). When the mean of two models scores well above either, their errors are independent
enough that the single networks are limited by their variance between trainings, not only by what a
network of their kind can know; the best mean is a ceiling for distilling them into one. A diagnostic:
colorkit itself runs one model.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from saturation_scale import scaled_scores, split_predictions

from colorkit.inference.colorizer import Colorizer


def combination_scores(rgb: np.ndarray, abs_: list[np.ndarray]) -> dict[tuple[int, ...], tuple[float, float]]:
    """``{(i, j, ...): (PSNR, colourfulness)}`` of ``rgb`` (uint8) with its L and the mean of the
    listed models' ``abs_`` (LAB units, same size), for every non-empty combination of them."""
    combos = [c for r in range(1, len(abs_) + 1) for c in itertools.combinations(range(len(abs_)), r)]
    return {c: scaled_scores(rgb, sum(abs_[i] for i in c) / len(c), [1.0])[1.0] for c in combos}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a folder with images/ and splits/ (UTKFace, people_scenes)")
    parser.add_argument("models", nargs="+", help="pretrained models' names, run directories or checkpoints (at most 6)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--size", type=int, default=256, help="the photo's size, as `colorkit evaluate` uses")
    parser.add_argument("--limit", type=int, default=None, help="the first N photos of the split")
    args = parser.parse_args()
    if len(args.models) > 6:
        parser.error(f"{len(args.models)} models: at most 6 (every combination is scored)")
    colorizers = [Colorizer.load(m, device="cpu") for m in args.models]
    sums: dict[tuple[int, ...], np.ndarray] = {}
    n = 0
    for rgb, abs_ in split_predictions(colorizers, args.data, args.split, args.size, args.limit):
        for combo, pair in combination_scores(rgb, abs_).items():
            sums[combo] = sums.get(combo, np.zeros(2)) + pair
        n += 1
    print(f"{args.data.name} {args.split}: {n} photos at {args.size} px")
    for combo, total in sorted(sums.items(), key=lambda kv: -kv[1][0]):
        names = " + ".join(str(colorizers[i].source) for i in combo)
        print(f"PSNR {total[0] / n:6.2f} dB  colourfulness {total[1] / n:6.2f}  {names}")


if __name__ == "__main__":
    main()
