"""gray | coloured | truth rows for colour photos, coloured by one model (or several, side by side).

    python benchmarks/pretrained_grid.py faces-scenes --sample -o docs/images/pretrained-sample.jpg
    python benchmarks/pretrained_grid.py faces-scenes runs/utkface_cunet_mse-*/ \
        --split ../shared/data/people_scenes/splits/test.txt --data ../shared/data/people_scenes/images \
        --first 6 -o /tmp/people_scenes_grid.jpg
    python benchmarks/pretrained_grid.py faces-scenes-hints --sample --hints 5 -o docs/images/hints-sample.jpg

With ``--hints N`` (hint models): gray with the hint places marked | no hints | N hints | truth, the
hints taken from the truth as ``colorkit evaluate --hints`` takes them (places fixed by the file name).

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
from colorkit.data.lab import lab_to_rgb_np, rgb_to_lab_np
from colorkit.hints import Hint
from colorkit.hints.truth import truth_hints
from colorkit.data.sample import sample_photos
from colorkit.inference.colorizer import Colorizer, find_checkpoint
from colorkit.report.grid import gray_of, grid_png


def _shown(rgb: np.ndarray, height: int) -> torch.Tensor:
    img = Image.fromarray(rgb)
    img = img.resize((round(img.width * height / img.height), height), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255.0


def _marked(gray: np.ndarray, hints: list[Hint]) -> np.ndarray:
    """``gray`` with each hint drawn as a square of its colour (at the photo's lightness 60) in a white frame."""
    out, (h, w) = gray.copy(), gray.shape[:2]
    side = max(3, round(min(h, w) / 40))
    for hint in hints:
        x, y = int(hint.x * w), int(hint.y * h)
        colour = (lab_to_rgb_np(np.array([[[60.0, *hint.ab]]])) * 255).round().astype(np.uint8)[0, 0]
        out[max(y - side - 1, 0) : y + side + 2, max(x - side - 1, 0) : x + side + 2] = 255
        out[max(y - side, 0) : y + side + 1, max(x - side, 0) : x + side + 1] = colour
    return out


def _hinted_rows(colorizer: Colorizer, rgb: np.ndarray, name: str, n: int) -> list[np.ndarray]:
    """gray with the hints marked | no hints | ``n`` hints, for one photo."""
    hints = truth_hints(rgb_to_lab_np(rgb)[..., 1:], name, n)
    gray = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, 2)
    return [_marked(gray, hints), colorizer.colorize(rgb), colorizer.colorize(rgb, hints)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="pretrained model names, run directories or checkpoints")
    parser.add_argument("--sample", action="store_true", help="the embedded public-domain photos")
    parser.add_argument("--data", type=Path, help="folder of colour photos")
    parser.add_argument("--split", type=Path, help="file listing photos in --data")
    parser.add_argument("--first", type=int, default=6, help="how many photos")
    parser.add_argument("--height", type=int, default=192, help="height of each shown photo")
    parser.add_argument("--hints", type=int, help="one hint model: gray with hints | no hints | N hints | truth")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.hints is not None and len(args.models) != 1:
        parser.error("--hints takes one model")
    if args.sample:
        files = list(sample_photos().values())
    elif args.split:
        files, _ = read_split(args.data, args.split)
    else:
        files = sorted(p for p in args.data.iterdir() if p.is_file())
    files = files[: args.first]
    colorizers = [Colorizer.load(find_checkpoint(m), device="cpu") for m in args.models]
    widest = max(round(Image.open(f).width * args.height / Image.open(f).height) for f in files)
    columns: list[list[torch.Tensor]] = [[] for _ in range(len(colorizers) + 2 + (args.hints is not None))]
    for f in files:
        rgb = load_rgb(f)
        truth = _shown(rgb, args.height)
        if args.hints is not None:
            shown = [_shown(x, args.height) for x in _hinted_rows(colorizers[0], rgb, f.name, args.hints)] + [truth]
        else:
            shown = [gray_of(truth[None])[0]] + [_shown(c.colorize(rgb), args.height) for c in colorizers] + [truth]
        for column, image in zip(columns, shown):
            pad = torch.ones(3, args.height, widest)
            pad[:, :, : image.shape[-1]] = image
            column.append(pad)
    png = grid_png([torch.stack(c) for c in columns])
    Image.open(io.BytesIO(png)).convert("RGB").save(args.output, quality=88)
    middle = f"{args.models[0]} | {args.models[0]} + {args.hints} hints" if args.hints is not None else " | ".join(args.models)
    print(f"wrote {args.output}: {len(files)} photos; columns: gray | {middle} | truth")


if __name__ == "__main__":
    main()
