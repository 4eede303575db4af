"""This machine's dense matmul peak, measured in the same run as the models it is compared with."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
from torch.nn import functional as F

from colorkit.bench.timing import synchronize


def _median_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    times = []
    for i in range(repeats + 2):  # two warm-up products
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(device: torch.device, dtype: torch.dtype = torch.float32, n: int | None = None, repeats: int = 10) -> dict:
    """Median GFLOP/s of an ``n x n`` by ``n x n`` matrix product (``2 n**3`` FLOPs) in ``dtype``, two ways.

    ``torch.mm`` (BLAS: MKL on a CPU, cuBLAS on CUDA) and the same product as a 1x1 convolution in
    channels_last (oneDNN on a CPU, cuDNN on CUDA): on AMD CPUs MKL's float32 GEMM is well below
    oneDNN's, which is what the models' convolutions use. The peak is the faster of the two medians.
    Uses torch's current thread count. On CUDA, float32 matmuls use TF32 exactly when cuDNN's
    convolutions do (``torch.backends.cudnn.allow_tf32``), so models and peak run on the same units.
    """
    n = n or (8192 if device.type == "cuda" else 2048)
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    x = a.T.reshape(1, n, n // 64, 64).contiguous(memory_format=torch.channels_last)
    w = b.reshape(n, n, 1, 1).contiguous(memory_format=torch.channels_last)
    tf32 = device.type == "cuda" and dtype == torch.float32 and torch.backends.cudnn.allow_tf32
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        with torch.inference_mode():
            kernels = {
                "mm": 2 * n**3 / _median_seconds(lambda: torch.mm(a, b), device, repeats) / 1e9,
                "conv1x1": 2 * n**3 / _median_seconds(lambda: F.conv2d(x, w), device, repeats) / 1e9,
            }
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    best = max(kernels, key=kernels.get)
    return {
        "gflops_per_s": kernels[best],
        "kernel": best,
        "kernels_gflops_per_s": kernels,
        "dtype": str(dtype).removeprefix("torch.") + (" (TF32)" if tf32 else ""),
        "n": n,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
    }
