"""PSNR of the hints spread alone (no network) for several reaches: how `[hints.spread]`'s defaults were chosen.

    python benchmarks/hints_spread_reach.py --data ../shared/data/utkface/images \
        --split ../shared/data/utkface/splits/val.txt --limit 400 --hints 10

Each photo at the network size (64 px, bicubic) gets ``--hints`` hints taken from its truth exactly as
``colorkit evaluate --hints`` takes them (colorkit/hints/truth.py); the prediction is the spread
colour (ab 0 where no hint reaches) joined with the true L. Prints a table of mean PSNR (dB) per
``sigma`` (rows) and ``sigma_l`` (columns).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorkit.data.lab import AB_SCALE, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.hints import render_hints
from colorkit.hints.spread import SpreadOptions, spread_hints
from colorkit.hints.truth import truth_hints
from colorkit.metrics import psnr_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="image folder")
    parser.add_argument("--split", type=Path, required=True, help="file listing the photos in --data")
    parser.add_argument("--limit", type=int, default=400, help="the first N photos of the split")
    parser.add_argument("--hints", type=int, default=10, help="hints per photo")
    parser.add_argument("--size", type=int, default=64, help="network size")
    parser.add_argument("--sigma", default="0.15,0.25,0.35")
    parser.add_argument("--sigma-l", default="7,10,15,20,30")
    args = parser.parse_args()
    names = args.split.read_text().split()[: args.limit]
    small = [Image.open(args.data / n).convert("RGB").resize((args.size, args.size), Image.Resampling.BICUBIC) for n in names]
    rgb = torch.from_numpy(np.stack([np.asarray(im) for im in small])).permute(0, 3, 1, 2).float() / 255
    lab = rgb_to_lab(rgb)
    hints = torch.from_numpy(np.stack([
        render_hints(truth_hints(lab[i, 1:].permute(1, 2, 0).numpy(), name, args.hints), args.size) for i, name in enumerate(names)
    ]))
    sigmas_l = [float(v) for v in args.sigma_l.split(",")]
    print(f"{len(names)} photos, {args.hints} hints each, {args.size} px; mean PSNR (dB) of the spread alone")
    print("sigma \\ sigma_l " + "".join(f"{v:>8g}" for v in sigmas_l))
    for sigma in (float(v) for v in args.sigma.split(",")):
        row = []
        for sigma_l in sigmas_l:
            spread = spread_hints(normalize_l(lab[:, :1]), hints, SpreadOptions(sigma=sigma, sigma_l=sigma_l))
            pred = lab_to_rgb(torch.cat([lab[:, :1], spread[:, :2] * AB_SCALE], 1))
            row.append(float(psnr_batch(pred.clamp(0, 1), lab_to_rgb(lab).clamp(0, 1), min_mse=1e-10).mean()))
        print(f"{sigma:<16g}" + "".join(f"{v:8.2f}" for v in row))


if __name__ == "__main__":
    main()
