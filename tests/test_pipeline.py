"""The overlapped folder pipeline (order, bad files, bounded work) and the memory-flat join."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorkit.build import build_model
from colorkit.data import images
from colorkit.data.lab import lab_to_rgb, rgb_to_lab
from colorkit.inference import colorizer as colorizer_module
from colorkit.inference import pipeline
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import get_host
from colorkit.testing import tiny_spec

TINY = tiny_spec("cunet")


@pytest.fixture(scope="module")
def colorizer():
    torch.manual_seed(0)
    return Colorizer(build_model(TINY, get_host()), lambda out: out, 32, torch.device("cpu"))


def photos(root: Path, n: int) -> list[tuple[Path, Path]]:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(n):
        src = root / f"{i:02d}.png"
        if i % 4 == 3:
            src.write_bytes(b"not an image")
        else:
            Image.fromarray(rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)).save(src)
        jobs.append((src, root / "out" / src.name))
    return jobs


def test_pipeline_keeps_order_reports_bad_files_and_matches_colorize_many(colorizer, tmp_path):
    jobs = photos(tmp_path, 11)
    saved = {}

    def save(src, dst, photo, coloured):
        if src.name == "05.png":
            raise OSError("disk full")
        saved[src.name] = coloured

    outcomes = list(pipeline.colour_files(colorizer, jobs, save, batch_size=3, workers=2, prefetch=1))
    assert [o.src for o in outcomes] == [src for src, _ in jobs]
    failed = {o.src.name: o.error for o in outcomes if o.error}
    assert set(failed) == {"03.png", "05.png", "07.png"}
    assert "not an image" in failed["03.png"] and "05.png" in failed["05.png"] and "disk full" in failed["05.png"]
    for name, coloured in saved.items():
        photo = np.asarray(Image.open(tmp_path / name))
        np.testing.assert_array_equal(coloured, colorizer.colorize_many([photo])[0])


def test_pipeline_retries_a_failed_batch_photo_by_photo(colorizer, tmp_path, monkeypatch):
    jobs = [job for job in photos(tmp_path, 6) if job[0].name != "03.png"]
    real_run = colorizer.run

    def run(x):
        if x.shape[0] > 1:
            raise RuntimeError("out of memory")
        return real_run(x)

    monkeypatch.setattr(colorizer, "run", run)
    outcomes = list(pipeline.colour_files(colorizer, jobs, lambda *a: None, batch_size=4))
    assert [o.error for o in outcomes] == [None] * len(jobs)


def test_tiled_join_equals_the_whole_image_join(colorizer, monkeypatch):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (301, 97, 3), dtype=np.uint8)
    ab = torch.randn(1, 2, 32, 32) * 30
    monkeypatch.setattr(colorizer_module, "JOIN_TILE_PIXELS", 97 * 7)  # 43 tiles, the last one short
    tiled = colorizer.join(rgb, ab)
    full = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    whole = lab_to_rgb(torch.cat([rgb_to_lab(full)[:, :1], F.interpolate(ab, size=(301, 97), mode="bilinear", align_corners=False)], 1))
    whole = (whole[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    assert tiled.shape == (301, 97, 3)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1


def test_large_jpeg_network_input_comes_from_a_downscaled_copy(colorizer, tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (600, 400, 3), dtype=np.uint8)).save(path, quality=90)
    monkeypatch.setattr(pipeline, "KEEP_PIXELS", 100_000)
    decoded = []
    real_open = images.open_image

    def spy(p, draft_size=None):
        img = real_open(p, draft_size=draft_size)
        decoded.append((draft_size, img.size))
        return img

    monkeypatch.setattr(pipeline, "open_image", spy)
    x, photo = pipeline.network_copy(colorizer, path)
    assert photo is None and x.shape == (1, 1, 32, 32)
    assert decoded == [(32, (50, 75))]  # JPEG draft: 1/8 of 400 x 600, still at least the network size
    saved = []
    outcomes = list(pipeline.colour_files(colorizer, [(path, tmp_path / "o.jpg")], lambda s, d, p, c: saved.append(c.shape)))
    assert outcomes[0].error is None and saved == [(600, 400, 3)]  # joined at full size, decoded again there
