"""How sure a model's colours are: PSNR and colourfulness of its ab scaled by s, on a split.

    python benchmarks/saturation_scale.py faces-scenes ../shared/data/people_scenes --split val

Each photo is resized to 256 px and coloured as `colorkit evaluate` does (the model's ab upsampled
onto the photo's own L); the ab is then multiplied by each scale s before scoring. s = 0 is the
all-gray baseline, s = 1 the model itself. When a smaller s scores higher, the model's hues point the
right way on average but it paints them more strongly than it knows them: the loss asks it for
colour it cannot place. A diagnostic only; colorkit itself never rescales a model's colours.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorkit.data.images import open_image, read_split
from colorkit.data.lab import join_lab_np, rgb_to_lab_np
from colorkit.inference.colorizer import Colorizer
from colorkit.metrics import colorfulness, psnr


def scaled_scores(rgb: np.ndarray, ab: np.ndarray, scales: list[float]) -> dict[float, tuple[float, float]]:
    """``{s: (PSNR, colourfulness)}`` of ``rgb`` (uint8) with its L and ``ab`` (LAB units, same size) x s."""
    true = rgb / 255.0
    light = rgb_to_lab_np(true)[..., 0]
    scores = {}
    for s in scales:
        pred = join_lab_np(light, ab * s)
        scores[s] = (psnr(pred, true), colorfulness(pred))
    return scores


def split_predictions(colorizers: list[Colorizer], data: Path, split: str, size: int, limit: int | None = None):
    """``(rgb, [ab of each colorizer])`` for each photo of ``data``'s split, resized to ``size`` as
    `colorkit evaluate` does (each model's ab upsampled to the photo's size), in LAB units."""
    files, missing = read_split(data / "images", data / "splits" / f"{split}.txt")
    if missing:
        raise SystemExit(f"{split}.txt: {len(missing)} listed photos are missing, first: {missing[0]}")
    files = files[:limit]
    for start in range(0, len(files), 16):
        rgbs = [np.asarray(open_image(f).resize((size, size), Image.Resampling.BICUBIC)) for f in files[start : start + 16]]
        with torch.no_grad():
            abs_ = [
                F.interpolate(c.predict_many(rgbs), size=(size, size), mode="bilinear", align_corners=False).permute(0, 2, 3, 1).double().cpu().numpy()
                for c in colorizers
            ]
        for i, rgb in enumerate(rgbs):
            yield rgb, [ab[i] for ab in abs_]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a pretrained model's name, a run directory or a checkpoint")
    parser.add_argument("data", type=Path, help="a folder with images/ and splits/ (UTKFace, people_scenes)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--scales", default="0,0.25,0.5,0.75,1", help="ab multipliers, comma-separated")
    parser.add_argument("--size", type=int, default=256, help="the photo's size, as `colorkit evaluate` uses")
    parser.add_argument("--limit", type=int, default=None, help="the first N photos of the split")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    colorizer = Colorizer.load(args.model, device="cpu")
    sums = {s: np.zeros(2) for s in scales}
    truth, n = 0.0, 0
    for rgb, (ab,) in split_predictions([colorizer], args.data, args.split, args.size, args.limit):
        for s, pair in scaled_scores(rgb, ab, scales).items():
            sums[s] += pair
        truth += colorfulness(rgb / 255.0)
        n += 1
    print(f"{colorizer.source} on {args.data.name} {args.split}: {n} photos at {args.size} px; truth's colourfulness {truth / n:.2f}")
    for s in scales:
        print(f"ab x {s:<5g} PSNR {sums[s][0] / n:6.2f} dB  colourfulness {sums[s][1] / n:6.2f}")


if __name__ == "__main__":
    main()
