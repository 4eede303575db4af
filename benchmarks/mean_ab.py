"""The mean ab of a data set's split: the constant tint that `colorkit evaluate --tint A,B` scores.

    python benchmarks/mean_ab.py ../shared/data/people_scenes --split train --size 256

Each photo is resized to SIZE x SIZE (PIL bicubic, as the evaluation protocol does) and converted to
LAB; the mean of a and b over all pixels of all photos is printed with the photo count.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.lab import rgb_to_lab_np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a folder with images/ and splits/ (UTKFace, people_scenes)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    names = (args.data / "splits" / f"{args.split}.txt").read_text(encoding="utf-8").split()
    total = np.zeros(2)
    for name in names:
        with Image.open(args.data / "images" / name) as img:
            rgb = np.asarray(img.convert("RGB").resize((args.size, args.size), Image.Resampling.BICUBIC)) / 255.0
        total += rgb_to_lab_np(rgb)[..., 1:].mean(axis=(0, 1))
    a, b = total / len(names)
    print(f"{args.data.name} {args.split}: {len(names)} photos at {args.size} px, mean ab = {a:.1f},{b:.1f}")


if __name__ == "__main__":
    main()
