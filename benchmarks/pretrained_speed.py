"""Time per photo and peak memory of `colorkit colorize` with a model, at several photo sizes,
with torch and with onnxruntime. Prints a Markdown table; asserts nothing about time.

    python benchmarks/pretrained_speed.py faces-scenes --sides 512 1024 4000 --photos 5

Each (side, backend) runs in a fresh process: the model is loaded and one photo coloured to warm
up, then ``--photos`` generated JPEG photos of ``side`` on the long edge (3:4, like a scanned print)
are coloured one after another exactly as `colorkit colorize` does (decode, network, full-resolution
join, JPEG encode and write, overlapped). The time per photo is the median over the photos; the
peak memory is the process's peak resident set (VmHWM), the model included.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _photo(path: Path, side: int, seed: int) -> None:
    w, h = side * 3 // 4, side
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
    Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC).save(path, quality=90)


def child(model: str, side: int, backend: str, photos: int) -> dict:
    from colorkit.inference import photo_files as archive
    from colorkit.inference.colorizer import Colorizer, find_checkpoint
    from colorkit.inference.pipeline import colour_files

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        srcs = []
        for i in range(photos + 1):
            srcs.append(root / f"p{i}.jpg")
            _photo(srcs[-1], side, i)
        t0 = time.perf_counter()
        colorizer = Colorizer.load(find_checkpoint(model) if not model.endswith(".onnx") else model, device="cpu", backend=backend)
        load = time.perf_counter() - t0

        def save(src: Path, dst: Path, photo: np.ndarray, rgb: np.ndarray) -> None:
            for path, data, _ in archive.outputs(src, photo, rgb, dst, colorizer):
                path.write_bytes(data)

        times = []
        for src in srcs:  # the first is the warm-up
            t = time.perf_counter()
            (outcome,) = colour_files(colorizer, [(src, root / f"out-{src.name}")], save, batch_size=1)
            assert outcome.error is None, outcome.error
            times.append(time.perf_counter() - t)
        return {"side": side, "backend": backend, "load_s": load, "per_photo_s": statistics.median(times[1:]), "peak_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a pretrained model's name, a run directory or a checkpoint")
    parser.add_argument("--sides", type=int, nargs="+", default=[512, 1024, 4000])
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"])
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.model, int(args.child[0]), args.child[1], args.photos)))
        return
    import torch

    print(f"model {args.model}, {torch.get_num_threads()} torch threads, {args.photos} photos each (median), 3:4 JPEG in, JPEG out")
    print("| photo (long side) | backend | time per photo | peak memory | model load |")
    print("|---|---|---:|---:|---:|")
    for side in args.sides:
        for backend in args.backends:
            cmd = [sys.executable, __file__, args.model, "--photos", str(args.photos), "--child", str(side), backend]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(f"| {side} px | {backend} | failed: {done.stderr.strip().splitlines()[-1]} | | |")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {side} px | {backend} | {r['per_photo_s']:.3f} s | {r['peak_mb']:.0f} MB | {r['load_s']:.2f} s |")


if __name__ == "__main__":
    main()
