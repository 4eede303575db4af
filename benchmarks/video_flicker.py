"""Flicker and PSNR of coloured video, with and without temporal stabilisation (issue 7).

Builds the test clips of :func:`colorkit.video.synthetic.demo_shots` from the public-domain sample
photos (a pan over the astronaut, a zoom into Grace Hopper, a pan that cuts from one to the other),
writes each losslessly (FFV1 in .mkv, with a sine audio track), then measures each with exactly what
``colorkit evaluate CHECKPOINT --video CLIP.mkv`` runs: the clip's L is coloured per frame and
stabilised, flicker is measured on both and on the colour original, PSNR against the original.

    python benchmarks/video_flicker.py runs/cunet_mse-20261126-111917 --frames 48 --clips-dir /tmp/clips
    python benchmarks/video_flicker.py CHECKPOINT --strip docs/img/before-after.jpg
    python benchmarks/video_flicker.py CHECKPOINT --sizes 64,128,256,512

``--strip`` also writes a before/after strip of the sample portraits (gray or sepia input, coloured,
original) by running ``colorkit colorize CHECKPOINT gray/ -o coloured/ --side-by-side``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def run_clips(checkpoint: str, frames: int, size: tuple[int, int], clips_dir: Path, device: str) -> dict:
    from colorkit.inference.colorizer import Colorizer
    from colorkit.video.io import write_clip
    from colorkit.video.pipeline import evaluate_video
    from colorkit.video.synthetic import demo_shots, render, sample_photos_rgb

    colorizer = Colorizer.load(checkpoint, device=device)
    photos = sample_photos_rgb()
    results = {}
    for name, shots in demo_shots(frames).items():
        clip = write_clip(clips_dir / f"{name}.mkv", render(shots, photos, size), fps=24, lossless=True)
        start = time.perf_counter()
        res = evaluate_video(colorizer, clip)
        results[name] = dict(res.to_json(), seconds=time.perf_counter() - start, clip=str(clip))
        del results[name]["psnr_per_frame"]
    return {"checkpoint": colorizer.source, "network_size": colorizer.size, "frames": frames, "size": list(size), "clips": results}


def table(report: dict) -> str:
    lines = [
        "| clip | flicker per-frame | flicker stabilised | flicker truth | PSNR per-frame | PSNR stabilised | cuts found |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["clips"].items():
        f, p, nan = r["flicker"], r["psnr"] or {}, float("nan")
        lines.append(
            f"| {name} | {f.get('per-frame', nan):.3f} | {f.get('stabilised', nan):.3f} | {f.get('truth', nan):.3f} | "
            f"{p.get('per-frame', float('nan')):.2f} | {p.get('stabilised', float('nan')):.2f} | {r['cuts']} |"
        )
    return "\n".join(lines)


def sepia(rgb: np.ndarray) -> np.ndarray:
    """A sepia-toned print of a photo (the classic sepia matrix on its gray)."""
    from colorkit.data.tone import to_l

    g = to_l(rgb).astype(np.float64)
    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return np.clip(g @ m.T, 0, 255).astype(np.uint8)


def strip(checkpoint: str, target: Path, height: int = 256) -> str:
    from colorkit.data.tone import to_l
    from colorkit.video.synthetic import sample_photos_rgb

    photos = sample_photos_rgb()
    with tempfile.TemporaryDirectory() as tmp:
        gray, coloured = Path(tmp) / "old", Path(tmp) / "coloured"
        gray.mkdir()
        inputs = {
            "1_astronaut.png": to_l(photos["astronaut"]),
            "2_grace_hopper.png": to_l(photos["grace_hopper"]),
            "3_grace_hopper_sepia.png": sepia(photos["grace_hopper"]),
        }
        truths = {"1_astronaut.png": photos["astronaut"], "2_grace_hopper.png": photos["grace_hopper"], "3_grace_hopper_sepia.png": photos["grace_hopper"]}
        for name, rgb in inputs.items():
            Image.fromarray(rgb).save(gray / name)
        cmd = ["colorkit", "colorize", checkpoint, str(gray), "-o", str(coloured), "--side-by-side"]
        subprocess.run([str(Path(sys.executable).parent / "colorkit"), *cmd[1:]], check=True)
        rows = []
        for name in inputs:
            pair = np.asarray(Image.open(coloured / name.replace(".png", "_before_after.png")).convert("RGB"))
            truth = truths[name]
            row = np.concatenate([pair, np.full((pair.shape[0], 8, 3), 255, np.uint8), truth], 1)
            img = Image.fromarray(row)
            rows.append(img.resize((round(img.width * height / img.height), height), Image.Resampling.LANCZOS))
        width = max(r.width for r in rows)
        canvas = Image.new("RGB", (width, sum(r.height for r in rows) + 8 * (len(rows) - 1)), "white")
        y = 0
        for r in rows:
            canvas.paste(r, (0, y))
            y += r.height + 8
        target.parent.mkdir(parents=True, exist_ok=True)
        canvas.save(target, quality=88)
    return " ".join(cmd)


def size_tradeoff(checkpoint: str, sizes: list[int], device: str, repeats: int = 5) -> str:
    """``colorize --size N`` on the two sample portraits at full resolution: seconds per photo (network
    and join; the fastest of ``repeats`` runs) and PSNR against the colour original, for each N."""
    from colorkit.data.tone import to_l
    from colorkit.inference.colorizer import Colorizer
    from colorkit.metrics import psnr
    from colorkit.video.synthetic import sample_photos_rgb

    photos = sample_photos_rgb()
    lines = ["| --size | s per photo | PSNR astronaut | PSNR grace_hopper |", "|---:|---:|---:|---:|"]
    for size in sizes:
        col = Colorizer.load(checkpoint, device=device, size=size)
        scores, times = [], []
        for rgb in photos.values():
            gray = to_l(rgb)
            col.colorize(gray)  # warm-up
            best = math.inf
            for _ in range(repeats):  # the fastest of several runs: robust to other processes on the cores
                start = time.perf_counter()
                out = col.colorize(gray)
                best = min(best, time.perf_counter() - start)
            times.append(best)
            scores.append(psnr(out, rgb))
        trained = " (trained)" if size == col.trained_size else ""
        lines.append(f"| {size}{trained} | {np.mean(times):.3f} | {scores[0]:.2f} | {scores[1]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="run directory or .safetensors checkpoint")
    ap.add_argument("--frames", type=int, default=48, help="frames per clip")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--clips-dir", type=Path, default=None, help="keep the generated clips here")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--strip", type=Path, default=None, help="also write a before/after strip of the sample portraits")
    ap.add_argument("--sizes", default=None, help="also time colorize --size N for these sizes, e.g. 64,128,256,512")
    args = ap.parse_args()
    if args.sizes:
        print(size_tradeoff(args.checkpoint, [int(x) for x in args.sizes.split(",")], args.device) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        clips = args.clips_dir or Path(tmp)
        clips.mkdir(parents=True, exist_ok=True)
        report = run_clips(args.checkpoint, args.frames, (args.width, args.height), clips, args.device)
    print(f"checkpoint {report['checkpoint']} (network {report['network_size']} px), {args.frames} frames at {args.width}x{args.height}\n")
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.strip:
        print(f"\nstrip: {strip(args.checkpoint, args.strip)}")


if __name__ == "__main__":
    main()
