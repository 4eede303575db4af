"""gray | coloured | truth rows for colour photos, coloured by one model (or several, side by side).

    python benchmarks/pretrained_grid.py faces-scenes --sample -o docs/images/pretrained-sample.jpg
    python benchmarks/pretrained_grid.py faces-scenes runs/utkface_cunet_mse-*/ \
        --split ../shared/data/people_scenes/splits/test.txt --data ../shared/data/people_scenes/images \
        --first 6 -o /tmp/people_scenes_grid.jpg

Each photo is coloured at its own size as `colorkit colorize` does (its L kept, the model's ab
upsampled onto it) and shown at ``--height`` pixels. ``--sample`` uses the public-domain photos
that ship inside scikit-image and matplotlib. The data sets' own README files forbid copying their
photos, or images derived from them, into the repository: grids of their test photos are for
looking at locally, not for committing.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorkit.data.images import load_rgb, read_split
from colorkit.data.sample import sample_photos
from colorkit.inference.colorizer import Colorizer, find_checkpoint
from colorkit.report.grid import gray_of, grid_png


def _shown(rgb: np.ndarray, height: int) -> torch.Tensor:
    img = Image.fromarray(rgb)
    img = img.resize((round(img.width * height / img.height), height), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="pretrained model names, run directories or checkpoints")
    parser.add_argument("--sample", action="store_true", help="the embedded public-domain photos")
    parser.add_argument("--data", type=Path, help="folder of colour photos")
    parser.add_argument("--split", type=Path, help="file listing photos in --data")
    parser.add_argument("--first", type=int, default=6, help="how many photos")
    parser.add_argument("--height", type=int, default=192, help="height of each shown photo")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.sample:
        files = list(sample_photos().values())
    elif args.split:
        files, _ = read_split(args.data, args.split)
    else:
        files = sorted(p for p in args.data.iterdir() if p.is_file())
    files = files[: args.first]
    colorizers = [Colorizer.load(find_checkpoint(m), device="cpu") for m in args.models]
    widest = max(round(Image.open(f).width * args.height / Image.open(f).height) for f in files)
    columns: list[list[torch.Tensor]] = [[] for _ in range(len(colorizers) + 2)]
    for f in files:
        rgb = load_rgb(f)
        truth = _shown(rgb, args.height)
        shown = [gray_of(truth[None])[0]] + [_shown(c.colorize(rgb), args.height) for c in colorizers] + [truth]
        for column, image in zip(columns, shown):
            pad = torch.ones(3, args.height, widest)
            pad[:, :, : image.shape[-1]] = image
            column.append(pad)
    png = grid_png([torch.stack(c) for c in columns])
    Image.open(io.BytesIO(png)).convert("RGB").save(args.output, quality=88)
    print(f"wrote {args.output}: {len(files)} photos; columns: gray | {' | '.join(args.models)} | truth")


if __name__ == "__main__":
    main()
