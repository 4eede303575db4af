"""benchmarks/ab_resolution_ceiling.py: the truth's own ab at a network size, upsampled, as a PSNR ceiling."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "ab_resolution_ceiling.py"


def edges(size: int = 128) -> np.ndarray:
    """Red and blue squares on green, with sharp colour edges that a small network size blurs."""
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[...] = (40, 160, 60)
    rgb[10:50, 20:70] = (200, 30, 30)
    rgb[70:120, 60:100] = (30, 40, 190)
    return rgb


def test_the_ceiling_rises_with_the_network_size():
    ceiling = runpy.run_path(str(SCRIPT))["ceiling"]
    scores = [ceiling(edges(), s) for s in (8, 32, 128)]
    assert scores[0] < scores[1] < scores[2], scores
    assert scores[2] > 40  # at the photo's own size only the LAB round trip is lost


def test_it_scores_a_split_of_a_data_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "images").mkdir()
    (tmp_path / "splits").mkdir()
    for i in range(2):
        Image.fromarray(np.roll(edges(), 20 * i, axis=1)).save(tmp_path / "images" / f"p{i}.png")
    (tmp_path / "splits" / "val.txt").write_text("p0.png\np1.png\n")
    monkeypatch.setattr(sys, "argv", ["ab_resolution_ceiling.py", str(tmp_path), "--sizes", "16,64", "--photo-size", "96"])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    out = capsys.readouterr().out
    assert "2 photos at 96 px" in out
    low, high = (float(line.split("scores ")[1].split(" dB")[0]) for line in out.splitlines()[1:])
    assert low < high
