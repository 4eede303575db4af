"""Pack a trained checkpoint as a pretrained model: compact weights and a filled-in model card.

``colorkit models pack RUN --name NAME -o DIR`` writes ``DIR/NAME.safetensors`` (the network only,
optionally in float16) and ``DIR/NAME.toml``, a card whose facts come from the run: architecture,
parameters, network size, recipe, training data, hardware, wall time, images seen, sha256 and size,
and the metrics of ``colorkit evaluate --json`` files. The project packs its own shipped models this
way, and so can a plugin that adds models (docs/pretrained.md).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
import torch

from colorkit import checkpoint as ckpt
from colorkit.build import build_model
from colorkit.data.images import split_names
from colorkit.errors import ColorkitError
from colorkit.files import atomic_write_text, read_jsonl
from colorkit.inference.colorizer import find_checkpoint
from colorkit.zoo.card import ModelCard
from colorkit.zoo.sources import sha256_of

PRECISIONS = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class Packed:
    weights: Path
    card: Path
    card_data: ModelCard


def _run_dir(file: Path) -> Path:
    run = file.parent.parent
    if not (run / "recipe.toml").is_file():
        raise ColorkitError(f"{file}: pack needs a checkpoint inside a run directory (RUN/checkpoints/...), to read how it was trained")
    return run


def _training(run: Path, file: Path) -> tuple[dict, dict, dict]:
    """The run's resolved recipe, its environment, and the training state of ``file``: for the best
    checkpoint, the epoch record in metrics.jsonl with the best score; otherwise the last state."""
    recipe = tomllib.loads((run / "recipe.toml").read_text(encoding="utf-8"))
    env = json.loads((run / "env.json").read_text(encoding="utf-8")) if (run / "env.json").is_file() else {}
    last = run / "checkpoints" / "last.json"
    state = json.loads(last.read_text(encoding="utf-8")).get("state", {}) if last.is_file() else {}
    records = read_jsonl(run / "metrics.jsonl")
    if file.name == "best.safetensors" and records:
        state = min(records, key=lambda r: r.get("val_total", r.get("train_loss", float("inf"))))
    return recipe, env, state


def _data_uses(recipe: dict, licence: str) -> list[dict]:
    data = recipe.get("data", {})
    sources = data.get("sources") or ([{"folder": data["source"], **{k: data[k] for k in ("train_split", "val_split") if k in data}}] if "source" in data else [])
    uses = []
    for s in sources:
        folder = Path(s["folder"])
        name = folder.parent.name if folder.name == "images" else folder.name
        splits = ", ".join(f"{Path(s[k]).stem} ({role})" for k, role in (("train_split", "training"), ("val_split", "model selection")) if k in s)
        count = len(split_names(s["train_split"])) if "train_split" in s and Path(s["train_split"]).is_file() else 0
        uses.append({"name": name, "splits": splits or "all images (training)", "images": count, "licence": licence})
    return uses


def _metrics(evals: dict[str, Path]) -> dict[str, dict[str, dict[str, float]]]:
    """Each ``colorkit evaluate --json`` file's overall rows (and per-group model rows) as card metrics."""
    out = {}
    for test_set, path in evals.items():
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
            rows = {row: {k: float(v) for k, v in values.items() if v is not None} for row, values in record["overall"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ColorkitError(f"{path}: not a `colorkit evaluate --json` result ({type(exc).__name__}: {exc})") from None
        out[test_set] = rows
        for group, group_rows in record.get("groups", {}).items():
            if "model" in group_rows:
                out[f"{test_set} {group}"] = {"model": {k: float(v) for k, v in group_rows["model"].items() if v is not None}}
    return out


def pack(
    checkpoint: str | Path,
    *,
    name: str,
    out_dir: Path,
    summary: str,
    licence: str,
    source: str | None = None,
    precision: str = "float16",
    evals: dict[str, Path] | None = None,
    measured_with: list[str] = (),
    hardware: str | None = None,
    recipe_file: str | None = None,
    host=None,
) -> Packed:
    """Write ``out_dir/NAME.safetensors`` and ``out_dir/NAME.toml`` from a run's checkpoint."""
    if precision not in PRECISIONS:
        raise ColorkitError(f"--precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    file = find_checkpoint(checkpoint)
    run = _run_dir(file)
    tensors, meta = ckpt.read_checkpoint(file)
    spec, size = ckpt.model_description(meta, file)
    model = build_model(spec, host)
    ckpt.load_modules(file, tensors, {"model": model})
    model = model.to(PRECISIONS[precision])
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.safetensors"
    keep = {k: meta[k] for k in (*ckpt.INFERENCE_KEYS, "recipe") if k in meta}
    ckpt.save_checkpoint(weights, modules={"model": model}, meta=dict(keep, precision=precision, pretrained=name))
    recipe, env, state = _training(run, file)
    recipe_file = recipe_file or f"recipes/{recipe.get('name', run.name)}.toml"
    hours = float(state.get("seconds", 0.0)) / 3600
    card = ModelCard.model_validate({
        "name": name,
        "summary": summary,
        "architecture": spec["name"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "network_size": size,
        "hints": bool(meta.get("hints")),
        "recipe": recipe_file,
        "licence": licence,
        "data": _data_uses(recipe, licence),
        "training": {
            "hardware": hardware or f"{env.get('device', '?')} ({env.get('processor', '?')}), torch {env.get('torch', '?')}",
            "wall_time": f"{hours:.1f} h of training steps",
            "images_seen": int(state.get("images", 0)),
            "command": f"colorkit run {recipe_file}",
        },
        "metrics": _metrics(evals or {}),
        "measured_with": list(measured_with),
        "weights": {
            "source": source or f"package:colorkit.zoo/models/{name}.safetensors",
            "sha256": sha256_of(weights),
            "bytes": weights.stat().st_size,
            "precision": precision,
        },
    })
    card_path = out_dir / f"{name}.toml"
    atomic_write_text(card_path, tomli_w.dumps(card.model_dump(mode="json", exclude_none=True)))
    return Packed(weights, card_path, card)
