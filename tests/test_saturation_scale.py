"""benchmarks/saturation_scale.py and ensemble_mean.py: a model's ab scaled down or up, and several models' ab averaged."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from colorkit.data.lab import rgb_to_lab_np

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "saturation_scale.py"


def scene(size: int = 64) -> np.ndarray:
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[...] = (90, 140, 100)
    rgb[8:40, 10:50] = (180, 70, 60)
    return rgb


def split_folder(root: Path, count: int) -> None:
    """``root/images`` with ``count`` shifted scenes, all listed in ``root/splits/val.txt``."""
    (root / "images").mkdir()
    (root / "splits").mkdir()
    for i in range(count):
        Image.fromarray(np.roll(scene(), 9 * i, axis=0)).save(root / "images" / f"p{i}.png")
    (root / "splits" / "val.txt").write_text("".join(f"p{i}.png\n" for i in range(count)))


def test_an_overconfident_prediction_scores_best_at_its_own_excess():
    scaled_scores = runpy.run_path(str(SCRIPT))["scaled_scores"]
    rgb = scene()
    ab = rgb_to_lab_np(rgb / 255.0)[..., 1:]
    scores = scaled_scores(rgb, 2 * ab, [0, 0.25, 0.5, 1])  # the right hues, twice as strong
    assert max(scores, key=lambda s: scores[s][0]) == 0.5
    assert scores[0][1] < 0.01 and scores[0.25][1] < scores[0.5][1] < scores[1][1]  # colour grows with s
    assert scores[0.5] == scaled_scores(rgb, ab, [1])[1]  # half of twice the truth's ab is the truth's


def test_it_reports_a_split_with_a_model(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    split_folder(tmp_path, 3)
    argv = ["saturation_scale.py", str(tiny_checkpoint), str(tmp_path), "--scales", "0,1", "--size", "48"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert "3 photos at 48 px" in lines[0]
    gray = float(lines[1].split("PSNR")[1].split("dB")[0])
    assert lines[1].startswith("ab x 0 ") and lines[1].rstrip().endswith("colourfulness   0.00")
    assert lines[2].startswith("ab x 1 ") and gray > 0


ENSEMBLE = Path(__file__).parents[1] / "benchmarks" / "ensemble_mean.py"


def test_the_mean_of_two_opposite_errors_is_the_truth(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    combination_scores = runpy.run_path(str(ENSEMBLE))["combination_scores"]
    rgb = scene()
    ab = rgb_to_lab_np(rgb / 255.0)[..., 1:]
    scores = combination_scores(rgb, [ab + 6.0, ab - 6.0, np.zeros_like(ab)])
    assert set(scores) == {(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)}
    assert scores[(0, 1)][0] > 45 > scores[(0,)][0]  # the two shifted predictions cancel out
    assert scores[(2,)][1] < 0.01  # all gray
    assert scores[(0, 1)] == combination_scores(rgb, [ab])[(0,)]


def test_it_ranks_the_combinations_of_a_split(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    split_folder(tmp_path, 2)
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    monkeypatch.setattr(sys, "argv", ["ensemble_mean.py", str(tmp_path), str(tiny_checkpoint), str(tiny_checkpoint), "--size", "48"])
    runpy.run_path(str(ENSEMBLE), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{tmp_path.name} val: 2 photos at 48 px"
    assert len(lines) == 4  # each model alone and the two together
    psnrs = [float(line.split("PSNR")[1].split("dB")[0]) for line in lines[1:]]
    assert psnrs == sorted(psnrs, reverse=True) and len(set(psnrs)) == 1  # one model twice: its mean is itself
