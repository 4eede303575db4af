"""Time inference and training of models on this machine; FLOPs, memory, data wait and the matmul peak."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from colorkit.bench.flops import forward_flops, train_flops
from colorkit.bench.memory import PeakMemory
from colorkit.bench.peak import matmul_peak
from colorkit.bench.timing import median_seconds, synchronize
from colorkit.data.dataset import build_datasets, collate
from colorkit.data.lab import rgb_to_model_io
from colorkit.errors import ColorkitError
from colorkit.inference.fast import DEFAULTS, FastOptions, amp_dtype, autocast, prepare_for_inference
from colorkit.recipe import DataConfig


@dataclass
class BenchConfig:
    """What to measure and how (the options of ``colorkit bench``)."""

    size: int = 256
    batch: int = 16
    repeats: int = 5
    warmup: int = 2
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    amp: str | None = None
    """Autocast dtype ("bf16", "fp16" on CUDA) for inference and training; None: float32."""
    channels_last: bool | None = None
    """NHWC memory format; None: inference as the default fast paths say, training without."""
    compile: bool = False
    fold_bn: bool = True
    """Fold BatchNorm into convolutions for inference (the default fast path)."""
    train: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    """The training data; its ``size`` is replaced by :attr:`size`."""
    seed: int = 0

    def fast_options(self) -> FastOptions:
        channels_last = DEFAULTS.channels_last if self.channels_last is None else self.channels_last
        return FastOptions(fold_bn=self.fold_bn, channels_last=channels_last, amp=self.amp, compile=self.compile)


def _memory_format(channels_last: bool | None) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


def machine(device: torch.device) -> dict:
    """What the numbers were measured on."""
    info = {
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class _Batches:
    """Endless training batches from a DataLoader; a new pass starts when one ends (its start-up is data wait)."""

    def __init__(self, cfg: BenchConfig):
        data = cfg.data.model_copy(update={"size": cfg.size})
        if data.source == "sample" and data.sample_crops < cfg.batch * (cfg.warmup + cfg.repeats):
            data = data.model_copy(update={"sample_crops": cfg.batch * (cfg.warmup + cfg.repeats)})
        dataset = build_datasets(data, cfg.seed).train
        if len(dataset) < cfg.batch:
            raise ColorkitError(f"--data {data.source}: {len(dataset)} training images, fewer than --batch {cfg.batch}")
        extra = {"prefetch_factor": data.prefetch, "persistent_workers": True} if data.workers and hasattr(data, "prefetch") else {}
        self.loader = DataLoader(dataset, batch_size=cfg.batch, shuffle=True, drop_last=True, collate_fn=collate,
                                 num_workers=data.workers, pin_memory=cfg.device.type == "cuda",
                                 generator=torch.Generator().manual_seed(cfg.seed), **extra)
        self._it = iter(self.loader)

    def __next__(self) -> torch.Tensor:
        while True:
            try:
                batch = next(self._it)
            except StopIteration:
                self._it = iter(self.loader)
                continue
            if batch["rgb"] is not None and len(batch["rgb"]):
                return batch["rgb"]


def _fraction(flops_per_image: float, images_per_s: float, peak: dict) -> float:
    return flops_per_image * images_per_s / 1e9 / peak["gflops_per_s"]


def _rates(ips: float, flops: float, peak: dict) -> dict:
    """Images/s, counted FLOPs per image, achieved GFLOP/s and its share of the measured peak."""
    return {"images_per_s": ips, "flops_per_image": flops, "gflops_per_s": flops * ips / 1e9, "peak_fraction": _fraction(flops, ips, peak)}


def _count_batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def bench_inference(model: nn.Module, cfg: BenchConfig, in_channels: int, peak: dict) -> dict:
    """Inference images/s of ``model`` (prepared with the fast paths) on a ``(batch, C, size, size)`` input."""
    dev = cfg.device
    options = cfg.fast_options()
    x = (torch.rand(cfg.batch, in_channels, cfg.size, cfg.size, device=dev) * 2 - 1).contiguous(memory_format=_memory_format(options.channels_last))
    flops = forward_flops(model.eval(), x[:1])
    norms = _count_batchnorms(model)
    with PeakMemory(dev) as mem:
        model = prepare_for_inference(model, x[:1], options)
        folded = norms - _count_batchnorms(model)

        def step():
            with torch.inference_mode():
                model(x)

        seconds = median_seconds(step, dev, warmup=cfg.warmup, repeats=cfg.repeats)
    return {"seconds_per_batch": seconds, **_rates(cfg.batch / seconds, flops, peak), "memory_bytes": mem.bytes, "folded_batchnorms": folded}


def bench_training(model: nn.Module, cfg: BenchConfig, in_channels: int, peak: dict) -> dict:
    """Training images/s (data, LAB, forward, MSE, backward, Adam step) and the share spent waiting for data."""
    dev = cfg.device
    if in_channels != 1:
        raise ColorkitError("training is timed on L input (in_channels = 1); use --no-train for other inputs")
    model.train().to(memory_format=_memory_format(cfg.channels_last))
    x = torch.rand(2, 1, cfg.size, cfg.size, device=dev) * 2 - 1
    flops = train_flops(model, x, torch.zeros(2, 2, cfg.size, cfg.size, device=dev))
    net = torch.compile(model) if cfg.compile else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp_dtype(cfg.amp, dev) == torch.float16)
    batches = _Batches(cfg)
    waits, totals = [], []
    with PeakMemory(dev) as mem:
        for i in range(cfg.warmup + cfg.repeats):
            t0 = time.perf_counter()
            rgb = next(batches)
            t1 = time.perf_counter()
            L, ab = rgb_to_model_io(rgb.to(dev, non_blocking=True).float() / 255.0)
            with autocast(dev, cfg.amp):
                out = net(L.contiguous(memory_format=_memory_format(cfg.channels_last)))
            loss = F.mse_loss(out.float(), ab)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            synchronize(dev)
            if i >= cfg.warmup:
                waits.append(t1 - t0)
                totals.append(time.perf_counter() - t0)
    seconds = statistics.median(totals)
    if not torch.isfinite(loss):
        raise ColorkitError(f"training diverged while benchmarking (loss {float(loss)})")
    return {
        "seconds_per_step": seconds,
        **_rates(cfg.batch / seconds, flops, peak),
        "data_wait_share": sum(waits) / sum(totals),
        "memory_bytes": mem.bytes,
        "loss": loss.item(),
    }


def bench_model(name: str, build: Callable[[], nn.Module], cfg: BenchConfig, peak: dict, in_channels: int = 1) -> dict:
    """Inference and (unless ``cfg.train`` is off) training numbers of one model; ``build()`` makes a fresh one."""
    torch.manual_seed(cfg.seed)
    model = build().to(cfg.device)
    result: dict = {"name": name, "params": sum(p.numel() for p in model.parameters())}
    if cfg.train:
        torch.manual_seed(cfg.seed)
        result["train"] = bench_training(build().to(cfg.device), cfg, in_channels, peak)
    result["inference"] = bench_inference(model, cfg, in_channels, peak)
    return result


def run_bench(models: dict[str, Callable[[], nn.Module]], cfg: BenchConfig, on_model: Callable[[str], None] | None = None) -> dict:
    """Measure the matmul peak, then each model; returns the whole report (what ``-o`` writes as JSON)."""
    dtype = amp_dtype(cfg.amp, cfg.device) or torch.float32
    peak = matmul_peak(cfg.device, dtype)
    results = []
    for name, build in models.items():
        if on_model:
            on_model(name)
        results.append(bench_model(name, build, cfg, peak))
    settings = asdict(cfg)
    settings["inference_fast_paths"] = asdict(cfg.fast_options())
    settings["device"] = str(cfg.device)
    settings["data"] = cfg.data.model_dump(mode="json")
    return {"machine": machine(cfg.device), "settings": settings, "matmul_peak": peak, "models": results}
