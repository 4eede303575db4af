"""Fair ablations: variants of one base recipe trained on the same data, split, seed and budget.

A compare recipe names a base recipe and a list of variants; each variant is a partial recipe
(tables merge, lists such as ``loss`` replace) plus optional dotted ``set`` overrides. Variants may
not change the data, the seed or the training budget, so the comparison stays fair. Every variant is
evaluated on the same held-out photos, beside the all-gray baseline.

The compare directory keeps ``compare.json`` (every variant's resolved recipe and run directory),
so ``--resume`` reuses finished variants and continues an interrupted one. Every variant's run
directory lies in ``COMPARE_DIR/runs/``, so ``tensorboard --logdir COMPARE_DIR/runs`` shows all their
curves and sample grids together, one TensorBoard run per variant. A variant that is a hint model is
also measured with :data:`~colorkit.inference.evaluate.HINT_COUNTS` hints per photo from the truth,
and the report plots its PSNR against them.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console

from colorkit.checkpoint import read_checkpoint
from colorkit.data.images import open_image, read_split
from colorkit.errors import ColorkitError, RecipeError
from colorkit.files import atomic_write_json, atomic_write_text, create_run_dir
from colorkit.inference.colorizer import Colorizer
from colorkit.inference.evaluate import GRAY, HINT_COUNTS, EvalResult, evaluate
from colorkit.metric_info import describe
from colorkit.metrics import protocol_prediction
from colorkit.recipe import MAX_SIZE, Recipe, apply_overrides, check_name, check_names, parse_recipe, read_toml
from colorkit.report.results import CompareResults, VariantResult
from colorkit.training.progress import RichProgress
from colorkit.training.trainer import read_metrics, resume_run, start_run

FAIR_KEYS = ("data", "seed", "train.epochs", "train.max_images", "train.max_steps", "train.batch_size")
"""What every variant shares; a variant that changes one of these is refused."""


class EvaluateConfig(BaseModel):
    """The held-out photos every variant is measured on."""

    model_config = ConfigDict(extra="forbid")
    data: Optional[str] = Field(None, description="folder of colour photos; default: the base recipe's validation images")
    split: Optional[str] = Field(None, description="file listing the photos in `data`")
    size: int = Field(256, ge=8, le=MAX_SIZE, description="evaluation resolution")
    limit: Optional[int] = Field(None, ge=1, description="use only the first N photos")
    grid: int = Field(6, ge=0, le=32, description="photos in the image grid")
    reference: Optional[str] = Field(None, description="variant the others are compared with (e.g. mse)")


class VariantSpec(BaseModel):
    """One variant: a name, partial recipe keys, and dotted overrides."""

    model_config = ConfigDict(extra="allow")
    name: str
    set: list[str] = Field(default_factory=list)


class CompareRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    base: str = Field(description="the base recipe, relative to this file")
    set: list[str] = Field(default_factory=list, description="dotted overrides of the base, for every variant")
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    variant: list[VariantSpec] = Field(min_length=1)
    output: dict[str, str] = Field(default_factory=lambda: {"dir": "compare"})


@dataclass
class CompareSpec:
    name: str
    command: str
    evaluate: EvaluateConfig
    variants: dict[str, Recipe]
    out_dir: str


def _merge(base: dict, part: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in part.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else copy.deepcopy(value)
    return out


def _get(raw: dict, dotted: str) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _variant_recipe(base_raw: dict, name: str, part: dict, overrides: list[str], source: str, host) -> Recipe:
    raw = apply_overrides(_merge(base_raw, part), list(overrides))
    raw["name"] = name
    where = f"{source} [variant '{name}']"
    for key in FAIR_KEYS:
        if _get(raw, key) != _get(base_raw, key):
            raise RecipeError(f"{where}: changes '{key}'; every variant must share the base's data, seed and budget")
    recipe = parse_recipe(raw, where)
    check_names(recipe, host, where)
    return recipe


def _vary(spec: str) -> list[tuple[str, dict, list[str]]]:
    """``loss=mse,l1`` -> variants with that loss; ``KEY=a,b`` -> variants with ``--set KEY=a`` ..."""
    key, sep, values = spec.partition("=")
    if not sep or not values.strip():
        raise RecipeError(f"--vary {spec!r}: expected KEY=V1,V2,..., for example loss=mse,l1,chroma_weighted")
    out = []
    for value in (v.strip() for v in values.split(",") if v.strip()):
        if key.strip() == "loss":
            out.append((value, {"loss": [{"name": value}]}, []))
        else:
            out.append((f"{key.strip().split('.')[-1]}={value}", {}, [f"{key.strip()}={value}"]))
    return out


def load_compare(path: Path, *, vary: list[str], overrides: list[str], host, evaluate_override: dict) -> CompareSpec:
    """A compare recipe, or a base recipe with ``--vary``, as fully resolved variant recipes."""
    raw = read_toml(path)
    if "base" in raw:
        if vary:
            raise RecipeError(f"{path}: a compare recipe lists its own variants; --vary is for a plain base recipe")
        try:
            spec = CompareRecipe.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise RecipeError(f"{path}: key '{key}': {first['msg']}") from None
        base_path = (path.parent / spec.base).resolve()
        base_raw = apply_overrides(read_toml(base_path), spec.set + list(overrides))
        parts = [(v.name, v.model_extra or {}, v.set) for v in spec.variant]
        name, ev, out_dir = check_name(spec.name, "name", str(path)), spec.evaluate, spec.output.get("dir", "compare")
    else:
        if not vary:
            raise RecipeError(f"{path}: a plain recipe needs --vary KEY=V1,V2 (or use a compare recipe with a 'base' key)")
        base_raw = apply_overrides(raw, list(overrides))
        parts = [p for v in vary for p in _vary(v)]
        name, ev, out_dir = check_name(f"{raw.get('name', path.stem)}-compare", "name", str(path)), EvaluateConfig(), "compare"
    ev = ev.model_copy(update={k: v for k, v in evaluate_override.items() if v is not None})
    if base_raw.get("seed") is None:
        base_raw["seed"] = random.SystemRandom().randrange(2**31)
    names = [n for n, _, _ in parts]
    if len(set(names)) != len(names):
        raise RecipeError(f"{path}: variant names must be unique, got {names}")
    if {"gray", "truth"} & set(names):
        raise RecipeError(f"{path}: 'gray' and 'truth' name the report's fixed columns; rename that variant")
    variants = {n: _variant_recipe(base_raw, n, part, sets, str(path), host) for n, part, sets in parts}
    if ev.reference is not None and ev.reference not in variants:
        raise RecipeError(f"{path}: key 'evaluate.reference': '{ev.reference}' is not a variant; valid: {', '.join(variants)}")
    return CompareSpec(name, "", ev, variants, out_dir)


def _resolve_data(recipe: Recipe) -> Recipe:
    """Absolute data paths, so a resumed comparison finds them from anywhere."""
    return recipe.model_copy(update={"data": recipe.data.resolved()})


def _eval_files(spec: CompareSpec) -> list[Path]:
    ev = spec.evaluate
    if ev.data is None:
        base = next(iter(spec.variants.values()))
        from colorkit.data.dataset import build_datasets

        files = list(build_datasets(base.data, base.seed).val.files)
    elif ev.split:
        files, missing = read_split(ev.data, ev.split)
        if missing:
            raise ColorkitError(f"evaluate.split: {len(missing)} listed photos are missing under {ev.data}, first: {missing[0]}")
    else:
        from colorkit.data.images import find_images

        files = find_images(ev.data).files
    files = files[: ev.limit] if ev.limit else files
    if not files:
        raise ColorkitError("compare: no photos to evaluate on")
    return files


class Comparison:
    """A compare directory: its state file, its variants' runs, evaluations and report."""

    def __init__(self, directory: Path, state: dict, host, console: Console):
        self.dir, self.state, self.host, self.console = directory, state, host, console

    @classmethod
    def create(cls, spec: CompareSpec, command: str, host, console: Console) -> "Comparison":
        directory = create_run_dir(spec.out_dir, spec.name)
        state = {
            "name": spec.name,
            "command": command,
            "resume": f"colorkit compare --resume {directory}",
            "tensorboard": f"tensorboard --logdir {directory / 'runs'}",
            "evaluate": json.loads(spec.evaluate.model_dump_json()),
            "variants": {n: {"recipe": r.model_dump(mode="json"), "run_dir": None} for n, r in spec.variants.items()},
        }
        state["evaluate"] = {k: (str(Path(v).resolve()) if k in ("data", "split") and v else v) for k, v in state["evaluate"].items()}
        for v in state["variants"].values():
            v["recipe"] = _resolve_data(Recipe.model_validate(v["recipe"])).model_dump(mode="json")
            v["recipe"]["output"]["dir"] = str(directory / "runs")
        comparison = cls(directory, state, host, console)
        comparison._save()
        return comparison

    @classmethod
    def open(cls, directory: Path, host, console: Console) -> "Comparison":
        path = directory / "compare.json"
        if not path.is_file():
            raise ColorkitError(f"{directory}: not a compare directory (no compare.json)")
        return cls(directory, json.loads(path.read_text()), host, console)

    def _save(self) -> None:
        # not atomic_write_json: it sorts keys, and the variants keep the recipe's order
        atomic_write_text(self.dir / "compare.json", json.dumps(self.state, indent=2) + "\n")

    @property
    def tensorboard(self) -> str:
        """The command that shows every variant's curves in one TensorBoard: their runs lie side by side in ``runs/``."""
        return f"tensorboard --logdir {self.dir / 'runs'}"

    @property
    def spec(self) -> CompareSpec:
        variants = {n: Recipe.model_validate(v["recipe"]) for n, v in self.state["variants"].items()}
        return CompareSpec(self.state["name"], self.state["command"], EvaluateConfig(**self.state["evaluate"]), variants, str(self.dir))

    def train_all(self) -> None:
        for name, entry in self.state["variants"].items():
            run_dir = Path(entry["run_dir"]) if entry["run_dir"] else None
            if run_dir is not None and _finished(run_dir):
                self.console.print(f"[green]reusing[/] finished variant [bold]{name}[/] ({run_dir})")
                continue
            if run_dir is not None and (run_dir / "checkpoints" / "last.safetensors").is_file():
                self.console.print(f"continuing variant [bold]{name}[/] ({run_dir})")
                trainer = resume_run(run_dir, host=self.host, console=self.console)
            else:
                self.console.print(f"training variant [bold]{name}[/]")
                recipe = Recipe.model_validate(entry["recipe"])
                trainer = start_run(recipe, source=f"{self.dir / 'compare.json'} [variant '{name}']", host=self.host, console=self.console)
                entry["run_dir"] = str(trainer.run_dir)
                self._save()
            trainer.run(RichProgress(self.console))

    def evaluate_all(self, on_progress: Callable[[int], None] | None = None) -> dict[str, EvalResult]:
        ev = self.spec.evaluate
        files = _eval_files(self.spec)
        metrics = {n: self.host.metrics.get(n).factory for n in self.host.metrics.names()}
        results = {}
        for i, (name, entry) in enumerate(self.state["variants"].items()):
            run_dir = Path(entry["run_dir"])
            cached = run_dir / "evaluate-compare.json"
            counts = list(HINT_COUNTS) if entry["recipe"].get("hints") is not None else []  # a hint model
            data = json.loads(cached.read_text()) if cached.is_file() else {}
            if data.get("files") == [str(f) for f in files] and data.get("hint_counts", []) == counts:
                results[name] = EvalResult(data["overall"], data["groups"], data["group_counts"], data["n"], data["failed"], counts)
                continue
            colorizer = Colorizer.load(run_dir, host=self.host)
            self.console.print(f"evaluating [bold]{name}[/] on {len(files)} photos" + (f", with {', '.join(map(str, counts))} hints" if counts else ""))
            # the all-gray row is the same for every variant: the first one measures it for all
            results[name] = evaluate(colorizer, files, size=ev.size, metrics=metrics, baseline=i == 0, on_progress=on_progress, hint_counts=counts)
            atomic_write_json(cached, dict(results[name].to_json(), files=[str(f) for f in files]))
        return results

    def grid(self, size: int) -> tuple[list[str], dict[str, list[np.ndarray]]]:
        files = _eval_files(self.spec)[: self.spec.evaluate.grid]
        truths = [np.asarray(open_image(f).resize((size, size), Image.Resampling.BICUBIC)) for f in files]
        columns = {"gray": [(protocol_prediction(t, np.zeros(2)) * 255 + 0.5).astype(np.uint8) for t in truths]}
        for name, entry in self.state["variants"].items():
            colorizer = Colorizer.load(Path(entry["run_dir"]), host=self.host)
            columns[name] = colorizer.colorize_many(truths) if truths else []
        columns["truth"] = truths
        return [f.name for f in files], columns

    def results(self, evals: dict[str, EvalResult]) -> CompareResults:
        ev = self.spec.evaluate
        first = next(iter(evals.values()))
        variants = []
        for name, entry in self.state["variants"].items():
            run_dir = Path(entry["run_dir"])
            recipe = Recipe.model_validate(entry["recipe"])
            _, meta = read_checkpoint(run_dir / "checkpoints" / "last.safetensors")
            variants.append(
                VariantResult(
                    name=name,
                    description=" + ".join(f"{t.weight:g}*{t.name}" for t in recipe.loss),
                    run_dir=run_dir,
                    metrics=evals[name].overall["model"],
                    groups={g: rows["model"] for g, rows in evals[name].groups.items()},
                    curve=read_metrics(run_dir),
                    train_seconds=meta["state"]["seconds"],
                    images_seen=meta["state"]["images"],
                    hints=evals[name].by_hints(),
                )
            )
        names, grid = self.grid(min(ev.size, 192)) if ev.grid else ([], {})
        return CompareResults(
            name=self.state["name"],
            command=self.state["command"],
            variants=variants,
            baseline=first.overall[GRAY],
            baseline_groups={g: rows[GRAY] for g, rows in first.groups.items()},
            group_counts=first.counts,
            truth_colorfulness=first.overall["truth"]["colorfulness"],
            truth_group_colorfulness={g: rows["truth"]["colorfulness"] for g, rows in first.groups.items()},
            n_images=first.n,
            grid_names=names,
            grid=grid,
            reference=ev.reference,
            metric_info={n: describe(n, self.host.metrics.get(n).factory) for n in self.host.metrics.names()},
        )


def _finished(run_dir: Path) -> bool:
    try:
        _, meta = read_checkpoint(run_dir / "checkpoints" / "last.safetensors")
    except ColorkitError:
        return False
    return meta.get("state", {}).get("done") is not None
