"""The decoded-image cache: filled once, trusted only when whole, invalidated by changed files."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from colorkit.data import dataset
from colorkit.data.cache import DecodedCache, cache_root
from colorkit.data.dataset import ImageFiles, collate
from colorkit.errors import ColorkitError
from colorkit.testing import make_images


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    files = sorted(make_images(tmp_path / "photos", count=6, size=40))
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a jpeg")
    return files + [tmp_path / "photos" / "broken.jpg"]


def _items(ds) -> list:
    items = [ds[i] for i in range(len(ds))]
    return [it["rgb"] if "rgb" in it else it["error"] for it in items]


def test_later_reads_come_from_the_cache_not_the_decoder(photos, monkeypatch):
    plain = _items(ImageFiles(photos, 32))
    first = _items(ImageFiles(photos, 32, cache=True))  # fills the cache
    decoded = []
    real_open = dataset.open_image
    monkeypatch.setattr(dataset, "open_image", lambda p, **kw: decoded.append(p) or real_open(p, **kw))
    again = _items(ImageFiles(photos, 32, cache=True))
    assert decoded == [photos[-1]]  # only the undecodable file is tried again, so it is reported again
    for a, b, c in zip(plain[:-1], first[:-1], again[:-1]):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert "broken.jpg" in again[-1] and again[-1] == plain[-1]


def test_a_changed_file_or_size_gives_a_fresh_cache(photos):
    a = DecodedCache(photos, 32)
    assert DecodedCache(photos, 32).path == a.path
    assert DecodedCache(photos, 24).path != a.path
    os.utime(photos[0], ns=(1, 1))
    assert DecodedCache(photos, 32).path != a.path
    assert not list(a.path.parent.glob(".*.tmp"))  # created by linking finished files into place


def test_a_torn_row_is_never_trusted(photos):
    ds = ImageFiles(photos, 32, cache=True)
    good = ds[2]["rgb"].clone()
    with open(ds.cache.path, "r+b") as f:  # a crash that wrote the entry but not all of the row
        f.seek(64 + 8 * len(photos) + ds.cache.row * 2 + 100)
        f.write(b"\x00\x01\x02")
    fresh = ImageFiles(photos, 32, cache=True)
    assert fresh.cache.get(2) is None
    assert torch.equal(fresh[2]["rgb"], good)  # decoded again and rewritten
    assert fresh.cache.get(2) is not None


def test_workers_share_one_cache_file(photos):
    ds = ImageFiles(photos, 32, cache=True)
    loader = DataLoader(ds, batch_size=3, collate_fn=collate, num_workers=2, persistent_workers=True)
    for _ in range(2):
        batches = list(loader)
        assert sum(len(b["index"]) for b in batches) == len(photos) - 1
        assert sum(len(b["errors"]) for b in batches) == 1
    assert all(ds.cache.get(i) is not None for i in range(len(photos) - 1))  # the workers filled it
    assert len(list((cache_root() / "decoded").glob("*.u8"))) >= 1


def test_a_foreign_file_in_the_cache_is_refused(photos):
    cache = DecodedCache(photos, 16)
    cache.path.write_bytes(b"x" * 200)
    with pytest.raises(ColorkitError, match="not a colorkit image cache"):
        DecodedCache(photos, 16).get(0)


def test_the_cache_matches_plain_decoding_pixel_for_pixel(photos):
    ds = ImageFiles(photos[:3], 32, cache=True)
    for i in range(3):
        ds[i]
        assert np.array_equal(ds.cache.get(i), ImageFiles(photos[:3], 32)[i]["rgb"].permute(1, 2, 0).numpy())
