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
    """A seeded permutation per epoch, so data order is reproducible and resumable.

    With ``mix`` (one ``(count, weight)`` per source, the sources' items stored one after another)
    an epoch of ``n`` items draws ``round(n * weight / total weight)`` from each source: passes over
    a seeded permutation of the source, repeated or cut short, then all shuffled together.
    """

    def __init__(self, n: int, seed: int, mix: list[tuple[int, float]] | None = None):
        self.n, self.seed, self.mix, self.epoch, self.start = n, seed, mix, 0, 0
        if mix:
            total = sum(w for _, w in mix)
            self.quota = [round(n * w / total) for _, w in mix]
            self.quota[-1] = n - sum(self.quota[:-1])

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's permutation; ``start`` skips the items a resumed run already saw."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return max(0, self.n - self.start)

    def _order(self, g: torch.Generator) -> torch.Tensor:
        if not self.mix:
            return torch.randperm(self.n, generator=g)
        parts, offset = [], 0
        for (count, _), quota in zip(self.mix, self.quota):
            passes = [torch.randperm(count, generator=g) for _ in range(-(-quota // count))] if count else []
            parts.append(torch.cat(passes)[:quota] + offset if passes else torch.empty(0, dtype=torch.long))
            offset += count
        order = torch.cat(parts)
        return order[torch.randperm(len(order), generator=g)]

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(self._order(g)[self.start :].tolist())


@dataclass
class DataSplit:
    """The datasets of a run and what was left out on the way."""

    train: Dataset
    val: Dataset
    val_names: list[str]
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    mix: list[tuple[int, float]] | None = None
    """With several sources: each one's number of training images and mixing weight, in the order
    their files are stored in ``train`` (see :class:`EpochSampler`)."""
    val_counts: list[int] | None = None
    """With several sources: each one's number of validation images, in the order stored in ``val``."""

    def sources(self, index: torch.Tensor, val: bool = False) -> torch.Tensor | None:
        """Which source (its place in ``data.sources``) each item of ``train`` (or ``val``) came from, by
        the items' ``index``; None with a single folder."""
        counts = self.val_counts if val else (self.mix and [count for count, _ in self.mix])
        if not counts:
            return None
        return torch.bucketize(index, torch.tensor(counts).cumsum(0), right=True)


def _seeded_shuffle(files: list[Path], seed: int) -> list[Path]:
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed)).tolist()
    return [files[i] for i in order]


@dataclass
class _Files:
    """One folder's training and validation files, and what was left out on the way."""

    train: list[Path]
    val: list[Path]
    missing: list[str]
    problems: list[str]


def _folder_files(root: Path, train_split, val_split, limit, val_fraction: float, seed: int, key: str, validation: bool = True) -> _Files:
    if not root.is_dir():
        raise ColorkitError(f"{key}: '{root}' is not a folder (use \"sample\" for the embedded photos)")
    missing: list[str] = []
    problems: list[str] = []
    if train_split:
        files, names = read_split(root, train_split)
        missing += [f"{root / n}: listed in a split file but missing" for n in names]
    else:
        found = find_images(root)
        files, problems = found.files, [str(p) for p in found.problems]
    if not validation:
        val_files = []
    elif val_split:
        val_files, names = read_split(root, val_split)
        missing += [f"{root / n}: listed in a split file but missing" for n in names]
    else:
        shuffled = _seeded_shuffle(files, seed)
        n_val = max(1, round(len(files) * val_fraction)) if val_fraction > 0 and len(files) > 1 else 0
        val_files, files = sorted(shuffled[:n_val]), sorted(shuffled[n_val:])
    if limit is not None and len(files) > limit:
        files = sorted(_seeded_shuffle(files, seed)[:limit])
    if not files:
        raise ColorkitError(f"{key}: no training images found in '{root}'")
    return _Files(files, val_files, missing, problems)


def build_datasets(data, seed: int) -> DataSplit:
    """Datasets for a recipe's ``[data]`` section (a :class:`colorkit.recipe.DataConfig`)."""
    if data.source == "sample" and not data.sources:
        photos = sample_photos()
        train = SampleCrops(list(photos.values()), data.size, data.sample_crops, seed)
        val_files = [photos[n] for n in VALIDATION]
        return DataSplit(train, ImageFiles(val_files, data.size), [p.name for p in val_files])

    if data.sources:
        parts = [
            _folder_files(Path(s.folder), s.train_split, s.val_split, s.limit, data.val_fraction, seed, f"data.sources.{i}.folder", s.validation)
            for i, s in enumerate(data.sources)
        ]
        roots = [Path(s.folder) for s in data.sources]
        mix = [(len(p.train), s.weight) for p, s in zip(parts, data.sources)]
    else:
        parts = [_folder_files(Path(data.source), data.train_split, data.val_split, data.limit, data.val_fraction, seed, "data.source")]
        roots, mix = [Path(data.source)], None
    files = [f for p in parts for f in p.train]
    val_files = [f for p in parts for f in p.val]
    missing = [m for p in parts for m in p.missing]
    problems = [m for p in parts for m in p.problems]
    if data.on_bad_file == "stop":
        bad = missing + problems + check_decodable(files + val_files)
        if bad:
            shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
            raise ColorkitError(
                f"data: {len(bad)} bad image file{'s' if len(bad) > 1 else ''}, training not started: {shown} "
                '(on_bad_file = "stop"; set it to "skip" to train without them)'
            )
    names = [_val_name(f, roots) for p in parts for f in p.val]
    train, val = ImageFiles(files, data.size, data.cache), ImageFiles(val_files, data.size, data.cache)
    val_counts = [len(p.val) for p in parts] if mix else None
    return DataSplit(train, val, names, missing, problems, mix, val_counts)


def _val_name(path: Path, roots: list[Path]) -> str:
    """A validation file's name relative to its folder (prefixed by the folder's name with several)."""
    for root in roots:
        if path.is_relative_to(root):
            rel = str(path.relative_to(root))
            return rel if len(roots) == 1 else f"{root.name}/{rel}"
    return str(path)


def check_decodable(files: list[Path]) -> list[str]:
    """Decode every file once (``on_bad_file = "stop"``); the messages of those that fail."""
    bad = []
    for f in files:
        try:
            open_image(f, draft_size=64)
        except ImageError as exc:
            bad.append(str(exc))
    return bad
