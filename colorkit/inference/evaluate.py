"""Measure a colorizer on photos with known colour, beside the all-gray baseline (ab = 0) and,
on request, a constant tint.

Protocol (as in the UTKFace reference figures): each photo is resized to ``size x size``
(bicubic); a prediction keeps the photo's true L and replaces ab; every registered metric is computed
per image on RGB in [0, 1] and averaged. Where file names carry group labels, groups are averaged too.
A hint model can also be measured with ``n`` hints per photo taken from the truth
(:mod:`colorkit.hints.truth`: the same places for every model), one row per count (:func:`hints_row`).
"""

from __future__ import annotations

import inspect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch.nn.functional as F
from PIL import Image

from colorkit.data.images import open_image
from colorkit.data.lab import join_lab_np, rgb_to_lab_np
from colorkit.data.labels import parse_groups
from colorkit.errors import ColorkitError, ImageError
from colorkit.hints.truth import truth_hints
from colorkit.inference.colorizer import Colorizer
from colorkit.metrics import colorfulness

GRAY = "gray (ab = 0)"

HINT_COUNTS = (0, 1, 2, 5, 10, 20)
"""The numbers of hints per photo ``colorkit compare`` measures a hint model with (as in docs/hints.md)."""


def tint_label(tint: tuple[float, float]) -> str:
    """The row name of the constant-tint baseline."""
    return f"tint (ab = {tint[0]:g}, {tint[1]:g})"


def hints_row(count: int, label: str = "model") -> str:
    """The row name of the model given ``count`` hints from the truth: ``label`` itself for none."""
    return label if count == 0 else f"{label} + {count} hint{'s' * (count != 1)}"


@dataclass
class EvalResult:
    """Mean metrics per predictor, overall and per group, and the files that failed."""

    overall: dict[str, dict[str, float]]
    groups: dict[str, dict[str, dict[str, float]]]
    counts: dict[str, int]
    n: int
    failed: list[str] = field(default_factory=list)
    hint_counts: list[int] = field(default_factory=list)
    """The numbers of hints measured (empty: the model was measured without hints only)."""

    def to_json(self) -> dict:
        data = {"n": self.n, "overall": self.overall, "groups": self.groups, "group_counts": self.counts, "failed": self.failed}
        return dict(data, hint_counts=self.hint_counts) if self.hint_counts else data

    def by_hints(self, label: str = "model") -> dict[int, dict[str, float]]:
        """The overall metrics per number of hints (empty without ``hint_counts``)."""
        return {n: self.overall[hints_row(n, label)] for n in self.hint_counts}


class _Means:
    """Means per row and metric; a ``nan`` (a metric with nothing to measure on this image, such as
    the ab error inside a face part of a photo without a face) is left out of its metric's mean."""

    def __init__(self):
        self.sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.n = 0

    def add(self, values: dict[str, dict[str, float]]) -> None:
        for row, metrics in values.items():
            for k, v in metrics.items():
                if v == v:
                    self.sums[row][k] += v
                    self.counts[row][k] += 1
                else:
                    self.sums[row].setdefault(k, 0.0)
        self.n += 1

    def means(self) -> dict[str, dict[str, float]]:
        return {row: {k: v / self.counts[row][k] if self.counts[row][k] else math.nan for k, v in m.items()} for row, m in self.sums.items()}


def _score(metrics: dict[str, Callable], extras: dict[str, set[str]], pred: np.ndarray, true: np.ndarray, **ab: np.ndarray) -> dict[str, float]:
    return {name: float(fn(pred, true, **{k: v for k, v in ab.items() if k in extras[name]})) for name, fn in metrics.items()}


def evaluate(
    colorizer: Colorizer,
    files: list[Path],
    *,
    size: int = 256,
    metrics: dict[str, Callable],
    label: str = "model",
    baseline: bool = True,
    tint: tuple[float, float] | None = None,
    batch_size: int = 16,
    on_progress: Callable[[int], None] | None = None,
    hint_counts: list[int] | None = None,
) -> EvalResult:
    """Evaluate ``colorizer`` on ``files``; a file that cannot be read is listed in ``failed``.

    Metrics get float RGB in [0, 1]; those with ``pred_ab`` / ``true_ab`` keywords also get the
    predicted ab (before the gamut clamp, as the reference protocol measures ab-MSE) and the true ab,
    in LAB units. ``baseline=False`` leaves out the all-gray row (the same for every model); ``tint``
    (a constant ab, usually the training set's mean) adds a row for that do-nothing-clever prediction.
    ``hint_counts`` (a hint model's): also measure it with that many hints per photo from the truth,
    one row each (:func:`hints_row`); 0 is the model's own row.
    """
    counts = sorted(set(hint_counts or []))
    if any(counts) and not colorizer.takes_hints:
        raise ColorkitError(f"{colorizer.source}: this model has no hint channels (trained without [hints]), so it cannot be measured with hints; use --hints 0 or a hint model")
    extras = {n: {"pred_ab", "true_ab"} & set(inspect.signature(fn).parameters) for n, fn in metrics.items()}
    overall, groups = _Means(), defaultdict(_Means)
    failed: list[str] = []
    zero_ab = np.zeros((size, size, 2))
    for start in range(0, len(files), batch_size):
        chunk, truths = [], []
        for f in files[start : start + batch_size]:
            try:
                truths.append(np.asarray(open_image(f).resize((size, size), Image.Resampling.BICUBIC)))
                chunk.append(f)
            except ImageError as exc:
                failed.append(str(exc))
        labs = [rgb_to_lab_np(t / 255.0) for t in truths]
        predicted = {}
        for count in [0, *(c for c in counts if c)] if truths else []:
            hints = [truth_hints(lab[..., 1:], f.name, count) for f, lab in zip(chunk, labs)] if count else None
            ab_small = colorizer.predict_many(truths, hints)
            ab_full = F.interpolate(ab_small, size=(size, size), mode="bilinear", align_corners=False)
            predicted[count] = ab_full.permute(0, 2, 3, 1).double().cpu().numpy()
        for i, (f, truth, lab) in enumerate(zip(chunk, truths, labs)):
            true = truth / 255.0
            values = {}
            for count, ab_full in predicted.items():
                pred = join_lab_np(lab[..., 0], ab_full[i])
                values[hints_row(count, label)] = _score(metrics, extras, pred, true, pred_ab=ab_full[i], true_ab=lab[..., 1:])
            values["truth"] = {"colorfulness": colorfulness(true)}
            if baseline:
                gray = join_lab_np(lab[..., 0], zero_ab)
                values[GRAY] = _score(metrics, extras, gray, true, pred_ab=zero_ab, true_ab=lab[..., 1:])
            if tint is not None:
                tint_ab = np.broadcast_to(np.asarray(tint, dtype=np.float64), zero_ab.shape)
                values[tint_label(tint)] = _score(metrics, extras, join_lab_np(lab[..., 0], tint_ab), true, pred_ab=tint_ab, true_ab=lab[..., 1:])
            overall.add(values)
            for key, value in (parse_groups(f.name) or {}).items():
                groups[f"{key}={value}"].add(values)
        if on_progress:
            on_progress(len(files[start : start + batch_size]))
    return EvalResult(
        overall=overall.means() if overall.n else {},
        groups={k: g.means() for k, g in sorted(groups.items())},
        counts={k: g.n for k, g in sorted(groups.items())},
        n=overall.n,
        failed=failed,
        hint_counts=counts,
    )
