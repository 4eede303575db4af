"""``[distill]``: train a network towards the mean colour of trained teachers as well as the truth.

Each teacher colours every training image once, before the first step, as the network will see it
(the cached ``data.size`` image) and mirrored, the two averaged, so a flipped image's target is the
flipped target. The mean over the teachers, in normalised ab, is written to the run directory
(``distill_ab.npy``, float16) and read by image index each step: training runs at the student's own
speed, and a resumed run reads the targets it started with.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from colorkit.data.dataset import collate
from colorkit.data.lab import AB_SCALE
from colorkit.errors import CheckpointError, ColorkitError
from colorkit.inference.colorizer import Colorizer
from colorkit.recipe import DistillConfig
from colorkit.training.signals import worker_init

TARGETS = "distill_ab.npy"
"""The teachers' mean ab of every training image, in the run directory."""


def load_teachers(config: DistillConfig, device: str | torch.device, host) -> list[Colorizer]:
    """The teachers as colorizers; a teacher that cannot be loaded is one line naming it."""
    teachers = []
    for i, name in enumerate(config.teachers):
        try:
            teachers.append(Colorizer.load(name, device=str(device), host=host))
        except (CheckpointError, ColorkitError) as exc:
            raise ColorkitError(f"distill.teachers.{i} ({name!r}): {exc}") from None
    return teachers


def _mean_ab(teachers: list[Colorizer], photos: list[np.ndarray], size: int) -> torch.Tensor:
    """The teachers' mean ab in LAB units ``(B, 2, size, size)``, each the mean of the photo's and its mirror's."""
    mirrored = [np.ascontiguousarray(p[:, ::-1]) for p in photos]
    total = 0
    for teacher in teachers:
        ab = (teacher.predict_many(photos) + teacher.predict_many(mirrored).flip(-1)) / 2
        if ab.shape[-1] != size:
            ab = F.interpolate(ab, size=(size, size), mode="bilinear", align_corners=False)
        total = total + ab.float().cpu()
    return total / len(teachers)


def targets(run_dir: Path, dataset, config: DistillConfig, size: int, device: torch.device, host, workers: int = 0, say=print) -> np.ndarray:
    """``(len(dataset), 2, size, size)`` float16, normalised ab: the teachers' mean for each training
    image, read from the run directory or computed once (written whole, then renamed into place).
    Unreadable images keep zeros; they are never trained on."""
    path = run_dir / TARGETS
    shape = (len(dataset), 2, size, size)
    if path.is_file():
        held = np.load(path, mmap_mode="r")
        if held.shape != shape:
            raise ColorkitError(f"{path}: holds targets of shape {held.shape}, this run's training images need {shape}; delete it to compute them again")
        return held
    teachers = load_teachers(config, device, host)
    t0 = time.perf_counter()
    partial = path.with_name(f"{path.stem}.partial.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=shape)
    loader = DataLoader(dataset, batch_size=64, collate_fn=collate, num_workers=workers, generator=torch.Generator(), worker_init_fn=worker_init)
    for batch in loader:
        if batch["rgb"] is not None:
            photos = list(batch["rgb"].permute(0, 2, 3, 1).numpy())
            out[batch["index"].numpy()] = (_mean_ab(teachers, photos, size) / AB_SCALE).numpy().astype(np.float16)
    out.flush()
    del out
    os.replace(partial, path)
    megabytes = path.stat().st_size / 2**20
    say(f"distill: {len(teachers)} teacher(s) coloured {len(dataset):,} training images in {time.perf_counter() - t0:.0f} s ({path.name}, {megabytes:.0f} MB)")
    return np.load(path, mmap_mode="r")


def batch_targets(held: np.ndarray, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The targets of a batch's images (by their dataset index) as float32 on ``device``."""
    return torch.from_numpy(np.asarray(held[index.numpy()], dtype=np.float32)).to(device)
