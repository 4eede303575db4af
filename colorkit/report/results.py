"""What ``colorkit compare`` measured: one :class:`VariantResult` per trained variant, and the whole comparison.

These are plain data; :mod:`colorkit.report.compare` renders them. ``to_json`` gives plain JSON-able
dicts (paths as ``str``, non-finite floats as ``None``, no images); ``from_json`` reads them back
(with an empty image grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorkit.metric_info import MetricInfo


def _plain(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars to Python, paths to str, NaN/inf to None (strict JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    return value


def _floats(d: dict | None) -> dict[str, float]:
    return {str(k): (float("nan") if v is None else float(v)) for k, v in (d or {}).items()}


def _float_groups(d: dict | None) -> dict[str, dict[str, float]]:
    return {str(k): _floats(v) for k, v in (d or {}).items()}


@dataclass
class VariantResult:
    """One trained variant of the base recipe, evaluated on the held-out split."""

    name: str  # variant name, e.g. "mse", "chroma_weighted"
    description: str  # e.g. "1*mse" or "1*l1 + 0.5*colorfulness"
    run_dir: Path
    metrics: dict[str, float]  # overall means: psnr, ssim, ab_mse, colorfulness, colorfulness_gap (+ maybe lpips)
    groups: dict[str, dict[str, float]]  # "race=black" -> metrics of this variant in that group
    curve: list[dict]  # the run's metrics.jsonl records ("epoch", "images", "train_loss", maybe "val_*", "terms")
    train_seconds: float
    images_seen: int
    hints: dict[int, dict[str, float]] = field(default_factory=dict)  # a hint model's overall metrics per number of hints from the truth

    def to_json(self) -> dict:
        data = {
            "name": self.name,
            "description": self.description,
            "run_dir": str(self.run_dir),
            "metrics": self.metrics,
            "groups": self.groups,
            "curve": self.curve,
            "train_seconds": self.train_seconds,
            "images_seen": self.images_seen,
        }
        return _plain(dict(data, hints=self.hints) if self.hints else data)

    @classmethod
    def from_json(cls, d: dict) -> "VariantResult":
        return cls(
            name=d["name"],
            description=d.get("description", ""),
            run_dir=Path(d["run_dir"]),
            metrics=_floats(d.get("metrics")),
            groups=_float_groups(d.get("groups")),
            curve=list(d.get("curve") or []),
            train_seconds=float(d.get("train_seconds") or 0.0),
            images_seen=int(d.get("images_seen") or 0),
            hints={int(k): _floats(v) for k, v in (d.get("hints") or {}).items()},
        )


@dataclass
class CompareResults:
    """Several variants trained on the same data, split, seed and budget, beside the all-gray baseline."""

    name: str
    command: str  # the exact command that reproduces it
    variants: list[VariantResult]
    baseline: dict[str, float]  # the all-gray (ab = 0) row
    baseline_groups: dict[str, dict[str, float]]
    group_counts: dict[str, int]
    truth_colorfulness: float
    truth_group_colorfulness: dict[str, float]
    n_images: int  # evaluated photos
    grid_names: list[str]  # names of the grid rows (photos)
    grid: dict[str, list[np.ndarray]]  # column title -> one uint8 (H, W, 3) image per row: "gray", each variant, "truth"
    reference: str | None = None  # optional reference variant name (e.g. "mse") for deltas
    # metric name -> how it is judged and shown (colorkit.metric_info.describe of the registered metric);
    # not in to_json: the report describes a metric missing here as the built-in of that name, else generically
    metric_info: dict[str, MetricInfo] = field(default_factory=dict)

    def variant(self, name: str) -> VariantResult:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"no variant named {name!r}; variants: {', '.join(v.name for v in self.variants)}")

    def to_json(self) -> dict:
        """Everything but the images and ``metric_info``, as plain JSON (the grid's column titles and row names are kept)."""
        return _plain(
            {
                "name": self.name,
                "command": self.command,
                "reference": self.reference,
                "n_images": self.n_images,
                "truth_colorfulness": self.truth_colorfulness,
                "truth_group_colorfulness": self.truth_group_colorfulness,
                "group_counts": self.group_counts,
                "baseline": self.baseline,
                "baseline_groups": self.baseline_groups,
                "variants": [v.to_json() for v in self.variants],
                "grid_names": list(self.grid_names),
                "grid_columns": list(self.grid),
            }
        )

    @classmethod
    def from_json(cls, d: dict) -> "CompareResults":
        """Read :meth:`to_json` output back; the images are not stored there, so ``grid`` is empty (and ``metric_info``)."""
        truth = d.get("truth_colorfulness")
        return cls(
            name=d["name"],
            command=d.get("command", ""),
            variants=[VariantResult.from_json(v) for v in d.get("variants", [])],
            baseline=_floats(d.get("baseline")),
            baseline_groups=_float_groups(d.get("baseline_groups")),
            group_counts={str(k): int(v) for k, v in (d.get("group_counts") or {}).items()},
            truth_colorfulness=float("nan") if truth is None else float(truth),
            truth_group_colorfulness=_floats(d.get("truth_group_colorfulness")),
            n_images=int(d.get("n_images") or 0),
            grid_names=list(d.get("grid_names") or []),
            grid={},
            reference=d.get("reference"),
        )
