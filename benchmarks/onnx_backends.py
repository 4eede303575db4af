"""Eager torch (plain, and with the default inference fast paths that ``Colorizer.load`` applies)
vs onnxruntime for the network + decoder, on this machine's CPU (random weights: speed does not
depend on them). Prints a Markdown table; asserts nothing about time.

    flock /tmp/colorkit-bench.lock .venv/bin/python benchmarks/onnx_backends.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from colorkit.build import build_model
from colorkit.inference.backends import OnnxBackend
from colorkit.inference.colorizer import Colorizer
from colorkit.inference.export import export_onnx
from colorkit.inference.fast import prepare_for_inference
from colorkit.plugins import get_host

MODELS = {
    "cunet": {"name": "cunet", "in_channels": 1, "out_channels": 2, "args": {"width": 16, "depth": 4, "dilations": [1, 2, 4, 8]}},
    "unet": {"name": "unet", "in_channels": 1, "out_channels": 2, "args": {"width": 16, "depth": 4}},
}


def timed(fn, x, repeats: int) -> float:
    fn(x)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=float, default=8.0, help="time budget per measurement (about)")
    args = parser.parse_args()
    host = get_host()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, size {args.size}")
    print("| model | batch | torch ms/img | torch + fast paths ms/img | onnxruntime ms/img | onnxruntime vs fast torch |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in MODELS.items():
            torch.manual_seed(0)
            colorizer = Colorizer(build_model(spec, host), lambda out: out, args.size, torch.device("cpu"))
            path = export_onnx(colorizer, {"model": spec, "size": args.size}, Path(tmp) / f"{name}.onnx").path
            ort = OnnxBackend(path)
            example = torch.zeros(1, 1, args.size, args.size)
            fast = Colorizer(prepare_for_inference(build_model(spec, host), example), lambda out: out, args.size, torch.device("cpu"))
            for batch in args.batches:
                x = torch.rand(batch, 1, args.size, args.size) * 2 - 1
                once = timed(colorizer.backend, x, 1)
                repeats = max(2, int(args.seconds / 2 / once))
                t_torch = timed(colorizer.backend, x, repeats) / batch
                t_fast = timed(fast.backend, x, repeats) / batch
                t_ort = timed(ort, x, repeats) / batch
                print(f"| {name} | {batch} | {t_torch * 1e3:.1f} | {t_fast * 1e3:.1f} | {t_ort * 1e3:.1f} | {t_fast / t_ort:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
