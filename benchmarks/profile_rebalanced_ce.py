"""Where a training step of ``rebalanced_ce`` spends its time, beside the same step with MSE.

    python benchmarks/profile_rebalanced_ce.py [--size 64] [--batch 32] [--steps 6]

Builds the UTKFace recipe's CU-net (width 16, depth 4, dilations 1-2-4-8) twice: with a 2-channel
head for MSE and a 313-channel head for rebalanced CE, and times each part of a step on random
photos (no data loading): network forward, loss (as the trainer computes it: the recipe's
``LossSet``, then its ``auxiliary_step``; for rebalanced CE the soft encoding and the
cross-entropy), backward, optimiser step, and the annealed-mean decoding that validation adds.
Prints milliseconds per step (medians over ``--steps`` after one warm-up) and images/s. Measures
and prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from colorkit.build import LossSet, build_model
from colorkit.data.lab import rgb_to_model_io
from colorkit.losses.mse import MSELoss
from colorkit.losses.rebalanced_ce import RebalancedCELoss
from colorkit.plugins import create_host

ARGS = {"width": 16, "depth": 4, "dilations": [1, 2, 4, 8], "repeats": 1}


def _photos(batch: int, size: int) -> torch.Tensor:
    """Smooth random colour fields (a stand-in for photos: realistic ab spread, no file I/O)."""
    g = torch.Generator().manual_seed(0)
    small = torch.rand(batch, 3, 4, 4, generator=g)
    return torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)


def profile(losses: LossSet, size: int, batch: int, steps: int) -> dict[str, float]:
    out_channels = losses.out_channels
    host = create_host(entry_points=False)
    model = build_model({"name": "cunet", "args": ARGS, "in_channels": 1, "out_channels": out_channels}, host)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    L, ab = rgb_to_model_io(_photos(batch, size))
    L = L.contiguous(memory_format=torch.channels_last)
    times: dict[str, list[float]] = {k: [] for k in ("forward", "loss", "backward", "step", "decode")}
    for i in range(steps + 1):
        t0 = time.perf_counter()
        out = model(L)
        t1 = time.perf_counter()
        total, _ = losses(out, ab, L=L)
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        total.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        losses.auxiliary_step(out, ab, L=L)
        t5 = time.perf_counter()
        with torch.no_grad():
            losses.decode(out.detach())
        t6 = time.perf_counter()
        if i:  # the first step warms up the allocator and oneDNN
            for k, v in zip(times, (t1 - t0, t2 - t1 + t5 - t4, t3 - t2, t4 - t3, t6 - t5)):
                times[k].append(v * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    print(f"CU-net {ARGS}, batch {args.batch} at {args.size} px, {torch.get_num_threads()} threads; ms per step (median of {args.steps})")
    print(f"{'loss':<16}{'forward':>9}{'loss':>9}{'backward':>10}{'step':>8}{'train img/s':>13}{'+decode':>9}")
    for name, loss in (("mse", MSELoss()), ("rebalanced_ce", RebalancedCELoss())):
        t = profile(LossSet([(name, 1.0, loss)], [{"name": name, "args": {}}]), args.size, args.batch, args.steps)
        train = t["forward"] + t["loss"] + t["backward"] + t["step"]
        decode = t["decode"] if name != "mse" else 0.0
        print(f"{name:<16}{t['forward']:>9.1f}{t['loss']:>9.1f}{t['backward']:>10.1f}{t['step']:>8.1f}"
              f"{args.batch / train * 1000:>13.1f}{decode:>9.1f}")


if __name__ == "__main__":
    main()
