"""Datasets for training and validation: image files or the embedded sample, as uint8 RGB tensors.

LAB conversion happens on whole batches on the training device (see :mod:`colorkit.data.lab`), so
workers only decode and resize. A file that cannot be decoded comes back as an error entry; the
collate function drops it and hands the message to the trainer, which counts and reports it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from colorkit.data.cache import DecodedCache
from colorkit.data.images import find_images, open_image, read_split, resize_rgb
from colorkit.data.sample import VALIDATION, sample_photos
from colorkit.errors import ColorkitError, ImageError


def with_channels(item: dict, rgb: np.ndarray, preprocess, source: Path | None = None) -> dict:
    """Add ``extra``, the preprocessor channels (float32 ``(C, S, S)``), when the dataset has any.

    ``preprocess`` is a :class:`colorkit.preprocess.Preprocessors` (set by the trainer as the
    datasets' ``preprocess`` attribute); ``source``, the image file, lets it cache the channels.
    """
    if preprocess is not None:
        item["extra"] = torch.from_numpy(preprocess(rgb, source))
    return item


class ImageFiles(Dataset):
    """Image files resized to ``size x size``; items are ``{"rgb": uint8 (3, S, S), "index": i}``.

    With ``cache`` the decoded images are kept in a :class:`colorkit.data.cache.DecodedCache`, so
    later epochs (and later runs on the same files) do not decode them again.
    """

    preprocess = None
    """A :class:`colorkit.preprocess.Preprocessors` whose channels each item carries as ``extra``."""

    def __init__(self, files: list[Path], size: int, cache: bool = False):
        self.files = list(files)
        self.size = size
        self.cache = DecodedCache(self.files, size) if cache and self.files else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        rgb = self.cache.get(i) if self.cache is not None else None
        if rgb is None:
            try:
                rgb = np.array(resize_rgb(open_image(self.files[i], draft_size=self.size), self.size))
            except ImageError as exc:
                if self.cache is not None:
                    self.cache.put(i, None)
                return {"error": str(exc), "index": i}
            if self.cache is not None:
                self.cache.put(i, rgb)
        return with_channels({"rgb": torch.from_numpy(rgb).permute(2, 0, 1), "index": i}, rgb, self.preprocess, self.files[i])


class SampleCrops(Dataset):
    """Random square crops of the embedded sample photos, drawn afresh each epoch from the seed."""

    preprocess = None
    """As :attr:`ImageFiles.preprocess` (crops are new each epoch, so never cached)."""

    def __init__(self, photos: list[Path], size: int, count: int, seed: int):
        self.images = [open_image(p) for p in photos]
        self.size, self.count, self.seed, self.epoch = size, count, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> dict:
        rng = random.Random(f"{self.seed}/{self.epoch}/{i}")
        img = self.images[i % len(self.images)]
        w, h = img.size
        side = int(min(w, h) * rng.uniform(0.4, 1.0))
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        crop = img.crop((x, y, x + side, y + side)).resize((self.size, self.size), Image.Resampling.BICUBIC)
        rgb = np.asarray(crop).copy()
        return with_channels({"rgb": torch.from_numpy(rgb).permute(2, 0, 1), "index": i}, rgb, self.preprocess)


def collate(items: list[dict]) -> dict:
    """Stack the decoded images (and their preprocessor channels); keep the errors of the others as messages."""
    good = [it for it in items if "rgb" in it]
    return {
        "rgb": torch.stack([it["rgb"] for it in good]) if good else None,
        "extra": torch.stack([it["extra"] for it in good]) if good and "extra" in good[0] else None,
        "index": torch.tensor([it["index"] for it in good], dtype=torch.long),
        "errors": [it["error"] for it in items if "error" in it],
    }


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch, so data order is reproducible and resumable."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch, self.start = n, seed, 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's permutation; ``start`` skips the items a resumed run already saw."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return max(0, self.n - self.start)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g)[self.start :].tolist())


@dataclass
class DataSplit:
    """The datasets of a run and what was left out on the way."""

    train: Dataset
    val: Dataset
    val_names: list[str]
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _seeded_shuffle(files: list[Path], seed: int) -> list[Path]:
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed)).tolist()
    return [files[i] for i in order]


def build_datasets(data, seed: int) -> DataSplit:
    """Datasets for a recipe's ``[data]`` section (a :class:`colorkit.recipe.DataConfig`)."""
    if data.source == "sample":
        photos = sample_photos()
        train = SampleCrops(list(photos.values()), data.size, data.sample_crops, seed)
        val_files = [photos[n] for n in VALIDATION]
        return DataSplit(train, ImageFiles(val_files, data.size), [p.name for p in val_files])

    root = Path(data.source)
    if not root.is_dir():
        raise ColorkitError(f"data.source: '{root}' is not a folder (use \"sample\" for the embedded photos)")
    missing: list[str] = []
    problems: list[str] = []
    if data.train_split:
        files, missing = read_split(root, data.train_split)
    else:
        found = find_images(root)
        files, problems = found.files, [str(p) for p in found.problems]
    if data.val_split:
        val_files, val_missing = read_split(root, data.val_split)
        missing += val_missing
    else:
        shuffled = _seeded_shuffle(files, seed)
        n_val = max(1, round(len(files) * data.val_fraction)) if data.val_fraction > 0 and len(files) > 1 else 0
        val_files, files = sorted(shuffled[:n_val]), sorted(shuffled[n_val:])
    if data.limit is not None and len(files) > data.limit:
        files = sorted(_seeded_shuffle(files, seed)[: data.limit])
    if not files:
        raise ColorkitError(f"data.source: no training images found in '{root}'")
    if data.on_bad_file == "stop":
        bad = [f"{root / n}: listed in a split file but missing" for n in missing] + problems
        bad += check_decodable(files + val_files)
        if bad:
            shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise ColorkitError(
                f"data: {len(bad)} bad image file{'s' if len(bad) > 1 else ''}, training not started: {shown} "
                '(on_bad_file = "stop"; set it to "skip" to train without them)'
            )
    names = [str(f.relative_to(root)) for f in val_files]
    train, val = ImageFiles(files, data.size, data.cache), ImageFiles(val_files, data.size, data.cache)
    return DataSplit(train, val, names, missing, problems)


def check_decodable(files: list[Path]) -> list[str]:
    """Decode every file once (``on_bad_file = "stop"``); the messages of those that fail."""
    bad = []
    for f in files:
        try:
            open_image(f, draft_size=64)
        except ImageError as exc:
            bad.append(str(exc))
    return bad
