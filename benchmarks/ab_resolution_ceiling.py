"""How much PSNR a network size leaves on the table: the truth's own colour at that size, upsampled.

    python benchmarks/ab_resolution_ceiling.py ../shared/data/people_scenes --split val --sizes 64,96,128

A colorizer predicts ab at its network size; colorkit joins it, upsampled bilinearly, with the
photo's own L. The best any network of that size can do is the truth's ab at that size (the photo
resized bicubically, as in training), so this scores exactly that, with the evaluation protocol's
photo size (256 px, `colorkit evaluate`) and PSNR. A model far under this ceiling is limited by what
it understands, not by its resolution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorkit.data.lab import join_lab_np, rgb_to_lab_np
from colorkit.metrics import psnr


def ceiling(rgb: np.ndarray, size: int) -> float:
    """PSNR of ``rgb`` (uint8, square) against its L joined with its own ab at ``size``, upsampled."""
    small = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC))
    ab = torch.from_numpy(rgb_to_lab_np(small)[..., 1:]).permute(2, 0, 1)[None]
    up = F.interpolate(ab, size=rgb.shape[:2], mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    return psnr(join_lab_np(rgb_to_lab_np(rgb)[..., 0], up), rgb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a folder with images/ and splits/ (UTKFace, people_scenes)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--sizes", default="64,96,128", help="network sizes, comma-separated")
    parser.add_argument("--photo-size", type=int, default=256, help="the photo's size, as `colorkit evaluate` uses")
    parser.add_argument("--limit", type=int, default=None, help="the first N photos of the split")
    args = parser.parse_args()
    names = (args.data / "splits" / f"{args.split}.txt").read_text(encoding="utf-8").split()[: args.limit]
    sizes = [int(s) for s in args.sizes.split(",")]
    scores: dict[int, list[float]] = {s: [] for s in sizes}
    for name in names:
        with Image.open(args.data / "images" / name) as img:
            rgb = np.asarray(img.convert("RGB").resize((args.photo_size, args.photo_size), Image.Resampling.BICUBIC))
        for s in sizes:
            scores[s].append(ceiling(rgb, s))
    print(f"{args.data.name} {args.split}: {len(names)} photos at {args.photo_size} px")
    for s in sizes:
        print(f"network size {s:4d} px: truth's ab upsampled scores {np.mean(scores[s]):.2f} dB")


if __name__ == "__main__":
    main()
