"""``colorkit bench``: speed, FLOPs, memory and data-loading share of registered models on this machine.

:mod:`~colorkit.bench.flops` counts FLOPs, :mod:`~colorkit.bench.peak` measures the dense matmul peak
they are compared with, :mod:`~colorkit.bench.memory` the peak memory of a phase, and
:mod:`~colorkit.bench.runner` times inference and training of each model.
"""

from colorkit.bench.runner import BenchConfig, run_bench

__all__ = ["BenchConfig", "run_bench"]
