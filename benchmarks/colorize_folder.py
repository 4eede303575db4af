"""Folder colorize (decode + network + join + encode, overlapped) against the network alone, and the
peak memory of colouring one huge photo against a small one. Prints; asserts nothing about time.

    flock /tmp/colorkit-bench.lock .venv/bin/python benchmarks/colorize_folder.py \
        runs/utkface_cunet_mse-*/ ../shared/data/utkface --n 500 --size 256

Each memory figure is measured in a fresh process (peak RSS, VmHWM) so the two do not mix.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorkit.inference.colorizer import Colorizer
from colorkit.inference.pipeline import colour_files


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ``ru_maxrss`` it does not carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_photo(checkpoint: str, side: str, size: int, backend: str) -> None:
    """Child process: colour one generated photo of ``side`` (e.g. 6000x4000), print peak RSS."""
    w, h = map(int, side.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo.jpg"
        rng = np.random.default_rng(0)
        small = rng.integers(0, 256, (h // 50 + 1, w // 50 + 1, 3), dtype=np.uint8)
        Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR).save(src, quality=90)
        del small
        colorizer = Colorizer.load(checkpoint, device="cpu", size=size, backend=backend)
        before = peak_rss_mb()
        outcomes = list(colour_files(colorizer, [(src, Path(tmp) / "out.jpg")], lambda s, d, p, c: (Path(tmp) / "out.jpg").write_bytes(b"")))
        assert outcomes[0].error is None, outcomes[0].error
        print(f"{side}: peak RSS {peak_rss_mb():.0f} MB (after loading the model: {before:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint")
    parser.add_argument("utkface", type=Path)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--one-photo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_photo:
        return one_photo(args.checkpoint, args.one_photo, args.size, args.backend)
    names = (args.utkface / "splits" / "test.txt").read_text().split()[: args.n]
    files = [args.utkface / "images" / n for n in names]
    colorizer = Colorizer.load(args.checkpoint, device="cpu", size=args.size, backend=args.backend)
    print(f"{len(files)} photos, size {args.size}, batch {args.batch}, backend {colorizer.backend.name}, torch {torch.get_num_threads()} threads")
    colorizer.run(colorizer.network_inputs([np.zeros((64, 64, 3), np.uint8)] * args.batch))  # warm-up

    decoded = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    x = torch.cat([colorizer.network_inputs([p]) for p in decoded])
    start = time.perf_counter()
    for i in range(0, len(x), args.batch):
        colorizer.run(x[i : i + args.batch])
    pure = len(x) / (time.perf_counter() - start)
    print(f"network only (inputs built in advance): {pure:.1f} images/s")

    out = Path(tempfile.mkdtemp(prefix="colorkit-bench-"))
    try:
        from colorkit.files import atomic_write_bytes
        from colorkit.inference import photo_files

        def save(src, dst, photo, rgb):
            for path, data, _ in photo_files.outputs(src, photo, rgb, dst, colorizer):
                atomic_write_bytes(path, data)

        jobs = [(f, out / f.name) for f in files]
        start = time.perf_counter()
        outcomes = list(colour_files(colorizer, jobs, save, batch_size=args.batch))
        folder = len(jobs) / (time.perf_counter() - start)
        assert all(o.error is None for o in outcomes)
    finally:
        shutil.rmtree(out)
    print(f"folder colorize (read JPEG, network, join, write JPEG): {folder:.1f} images/s = {folder / pure:.0%} of the network-only rate")

    for side in ("256x256", "6000x4000"):
        cmd = [sys.executable, __file__, args.checkpoint, str(args.utkface), "--size", str(args.size), "--backend", args.backend, "--one-photo", side]
        print(subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ).stdout.strip())


if __name__ == "__main__":
    main()
