"""Peak memory of one phase: process RSS growth on a CPU (sampled), allocator peak on CUDA."""

from __future__ import annotations

import gc
import threading

import psutil
import torch

SAMPLE_SECONDS = 0.005


class PeakMemory:
    """``with PeakMemory(device) as m: ...``; then ``m.bytes`` is the phase's peak memory growth.

    CPU: the resident set size is sampled every 5 ms in a thread; the peak minus the RSS at the start
    (freed memory the allocator kept from earlier phases is reused first, so this is a lower bound).
    CUDA: ``torch.cuda.max_memory_allocated`` minus what was allocated at the start.
    """

    def __init__(self, device: torch.device):
        self.device, self.bytes = device, 0
        self._stop = threading.Event()

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            return self
        self._process = psutil.Process()
        self._start = self._peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self._start
            return
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.bytes = max(0, self._peak - self._start)
