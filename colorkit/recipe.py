"""TOML recipe -> typed, validated :class:`Recipe`.

A recipe is the whole experiment: data, model, a weighted list of losses, optimiser and schedule,
budget, seed and outputs. Unknown keys, wrong types and unknown registry names are rejected with
one message naming the file, the key and the valid choices. Nothing is built while validating.
"""

from __future__ import annotations

import difflib
import inspect
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from colorkit.contracts import (
    AB_CHANNELS,
    COLORIZER,
    MAX_SIZE,
    check_available,
    input_stride,
    loss_out_channels,
    model_role,
    option_problems,
    options_schema,
    preprocessor_channels,
    supports_pixel_weights,
)
from colorkit.errors import ColorkitError, RecipeError, RegistryError
from colorkit.hints.spread import SpreadOptions
from colorkit.preprocess.base import install_hint

MAX_SEED = 2**32 - 1
"""Largest seed: numpy's generators take seeds below 2**32, torch's below 2**64."""

MAX_BATCH = 2**16
"""Largest batch: far more than any accelerator holds, and small enough for every index the data loader computes."""

MAX_DEPTH = 32
"""Deepest nesting of tables and arrays in a recipe; far deeper than any recipe needs, and shallow
enough that parsing, validating and writing it back never exhaust Python's stack."""

MAX_NAME = 100
"""Longest run, variant or comparison name (a run directory adds a timestamp to it)."""

_NAME_CHARS = re.compile(r"[\w.+=-]+")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one path component (a run, variant or comparison name), or None.

    A name is letters, digits and ``. _ - + =``, at most :data:`MAX_NAME` characters, not starting
    with a dot: no separators, no ``..``, nothing that could leave the output folder.
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters, got {len(name)}"
    if name.startswith("."):
        return "must not start with '.'"
    if not _NAME_CHARS.fullmatch(name) or not name.isprintable():
        return "must be one folder name of letters, digits and . _ - + = (no '/', '\\', spaces or other characters)"
    return None


def check_name(name: object, key: str, source: str) -> str:
    """``name`` if it is a safe path component, else a :class:`RecipeError` naming ``source`` and ``key``."""
    problem = name_problem(name)
    if problem:
        raise RecipeError(f"{source}: key '{key}': {problem} (got {_shown(name)})")
    return name


def _safe_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


SafeName = Annotated[str, AfterValidator(_safe_name)]
"""A name used as a folder name inside the output folder (see :func:`name_problem`)."""

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,3})?")


def device_problem(device: object) -> str | None:
    """Why ``device`` is not a device name colorkit accepts, or None."""
    if isinstance(device, str) and DEVICE.fullmatch(device):
        return None
    return 'must be "auto", "cpu", "cuda", "cuda:N" (N a GPU index) or "mps"'


def size_problem(size: int) -> str | None:
    """Why ``size`` is not a usable network resolution, or None (shared by recipes and the CLI's ``--size``)."""
    if not 8 <= size <= MAX_SIZE:
        return f"must be from 8 to {MAX_SIZE} pixels (the output keeps the photo's own resolution), got {size}"
    return None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DataSource(_Section):
    """One image folder of several (`[[data.sources]]`), with its share of every training epoch."""

    folder: str = Field(description="a folder of images, searched recursively unless `train_split` lists them")
    train_split: Optional[str] = Field(None, description="file listing this folder's training images (names relative to `folder`)")
    val_split: Optional[str] = Field(None, description="file listing its validation images; without it `data.val_fraction` of its training images are held out")
    weight: float = Field(1.0, gt=0.0, description="share of each epoch drawn from this folder, relative to the other sources' weights (a small folder with a large weight is repeated, a large one with a small weight is subsampled afresh each epoch)")
    limit: Optional[int] = Field(None, ge=1, description="use at most this many of its training images (chosen by the seed)")
    validation: bool = Field(True, description="false: this folder adds training images only, none held out or listed for validation (a group repeated from a folder another source validates)")

    @model_validator(mode="after")
    def _validation_set(self) -> "DataSource":
        if not self.validation and self.val_split is not None:
            raise ValueError("validation = false takes no val_split: remove one of them")
        return self


class DataConfig(_Section):
    """Where the photos come from and how they are shaped for the network."""

    source: str = Field("sample", description='"sample" (photos shipped with installed packages) or a folder of images, searched recursively')
    sources: list[DataSource] = Field(default_factory=list, description="several image folders trained on at once, each with a mixing `weight` (instead of `source`, `train_split`, `val_split` and `limit`)")
    train_split: Optional[str] = Field(None, description="file listing the training images (names relative to `source`), one a line")
    val_split: Optional[str] = Field(None, description="file listing the validation images; without it `val_fraction` of the training images are held out")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share held out for validation when there is no `val_split`, chosen by the seed")
    limit: Optional[int] = Field(None, ge=1, description="use at most this many training images (chosen by the seed)")
    size: int = Field(256, ge=8, description="network resolution: images are resized to size x size")
    flip: bool = Field(True, description="random horizontal flips while training")
    crop_scale: float = Field(1.0, gt=0.0, le=1.0, description="random zoomed crops while training: each image is cropped to a square covering between this share of its area and all of it, anywhere inside, and resized back to `size`; 1 keeps whole images")
    sample_crops: int = Field(64, ge=1, description='"sample" source only: random crops per epoch')
    on_bad_file: Literal["skip", "stop"] = Field("skip", description='"skip": leave unreadable images out and count them in the log; "stop": check every image before training and stop, listing the bad ones')
    workers: int = Field(0, ge=0, description="DataLoader worker processes (0 decodes in the main process)")
    prefetch: int = Field(2, ge=1, description="batches each DataLoader worker loads ahead (with `workers` > 0)")
    cache: bool = Field(True, description="keep the decoded, resized images in one memory-mapped file under the cache folder (COLORKIT_CACHE_DIR, default ~/.cache/colorkit), so later epochs and runs skip JPEG decoding")

    @model_validator(mode="after")
    def _one_kind_of_source(self) -> "DataConfig":
        single = [k for k in ("train_split", "val_split", "limit") if getattr(self, k) is not None]
        single = (["source"] if self.source != "sample" else []) + single
        if self.sources and single:
            raise ValueError(f"set data.sources or {', '.join('data.' + k for k in sorted(single))}, not both")
        return self

    def resolved(self) -> "DataConfig":
        """A copy with every folder and split file as an absolute path, so a run does not depend on the working folder."""

        def absolute(section: BaseModel, keys: tuple[str, ...]) -> dict:
            return {k: str(Path(getattr(section, k)).resolve()) for k in keys if getattr(section, k)}

        if self.sources:
            sources = [s.model_copy(update=absolute(s, ("folder", "train_split", "val_split"))) for s in self.sources]
            return self.model_copy(update={"sources": sources})
        if self.source == "sample":
            return self
        return self.model_copy(update=absolute(self, ("source", "train_split", "val_split")))


class ModelConfig(_Section):
    """The network, by registry name, and its options."""

    name: str = Field("cunet", description="a registered model (`colorkit plugins` lists them)")
    args: dict[str, Any] = Field(default_factory=dict, description="options passed to the model factory")
    init: Optional[str] = Field(None, description="start from these weights instead of random ones: a pretrained model's name (`colorkit models`), a run directory or a checkpoint; `name` and `args` must build the same network")
    freeze_norm_stats: bool = Field(
        False,
        description="keep the batch-norm statistics that `init` came with: the network's BatchNorm layers normalise with them while "
        "training too (their scale and shift still learn). For fine-tuning on photos unlike the model's training mix, whose own "
        "statistics would change what every later layer sees (docs/pretrained.md measures it); needs `init`",
    )

    @model_validator(mode="after")
    def _frozen_stats_need_init(self) -> "ModelConfig":
        if self.freeze_norm_stats and not self.init:
            raise ValueError("model.freeze_norm_stats keeps the statistics of model.init's weights; set model.init, or drop freeze_norm_stats")
        return self


class LossTerm(_Section):
    """One entry of the weighted loss list (`[[loss]]`)."""

    name: str = Field(description="a registered loss")
    weight: float = Field(1.0, ge=0.0, description="multiplies the loss before the terms are summed")
    args: dict[str, Any] = Field(default_factory=dict, description="options passed to the loss")
    part_weights: dict[str, float] = Field(
        default_factory=dict,
        description="per-pixel weights from preprocessor channels, e.g. {lips = 3, eyes = 3}: w = 1 + sum (weight - 1) * mask; only losses that take per-pixel weights",
    )
    source_weights: Optional[list[float]] = Field(
        None,
        description="one multiplier per `[[data.sources]]` entry, in their order, for this loss on the images from that folder, e.g. [1, 0] "
        "keeps a colourfulness term off the second folder (its other losses still count there)",
    )

    @model_validator(mode="after")
    def _weights_not_negative(self) -> "LossTerm":
        for part, w in self.part_weights.items():
            if not w >= 0:
                raise ValueError(f"part_weights.{part} must be >= 0, got {w}")
        return self

    @field_validator("source_weights")
    @classmethod
    def _source_weights_not_negative(cls, weights: list[float] | None) -> list[float] | None:
        if weights is not None and not all(w >= 0 for w in weights):
            raise ValueError(f"every source weight must be >= 0, got {weights}")
        return weights


class PreprocessStep(_Section):
    """One preprocessor (`[[preprocess]]`): its channels are fed to the model after L."""

    name: str = Field(description="a registered preprocessor (`colorkit plugins` lists them)")
    args: dict[str, Any] = Field(default_factory=dict, description="options passed to the preprocessor")


class HintsConfig(_Section):
    """Colour hints (`[hints]`): the network also takes hint channels (a, b and a mask after L and the preprocessor channels), which a registered sampler draws from the truth while training."""

    sampler: str = Field("points", description='a registered hint sampler (`colorkit plugins` lists them); "points": random points revealing the mean true ab over small patches (docs/hints.md)')
    args: dict[str, Any] = Field(default_factory=dict, description="options passed to the sampler (`[hints.args]`)")
    spread: Optional[SpreadOptions] = Field(None, description="a `[hints.spread]` table gives the network the hints spread over the regions they fall in as three more channels (edge-aware, by place and lightness; docs/hints.md)")


class DistillConfig(_Section):
    """Distillation (`[distill]`): the losses also score the network against the mean colour of trained teacher models, computed once before training (docs/recipes.md)."""

    teachers: list[str] = Field(
        min_length=1, max_length=16,
        description="trained models whose mean colour the network learns too: pretrained models' names (`colorkit models`), run directories or checkpoints; each colours every training image once, mirrored too, at `data.size`",
    )
    weight: float = Field(
        0.5, gt=0.0, le=1.0,
        description="each step's loss is (1 - weight) x the losses against the truth + weight x the same losses against the teachers' mean; validation always scores against the truth",
    )


class OptimConfig(_Section):
    """The optimiser."""

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0.0, le=10.0, description="initial learning rate (at most 10: larger rates only diverge, and above about 1e38 torch cannot hold them)")
    weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="at most 10, for the same reason")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam betas, each in [0, 1)")
    momentum: float = Field(0.9, ge=0.0, le=1.0, description="SGD momentum, from 0 to 1")

    @field_validator("betas")
    @classmethod
    def _betas_below_one(cls, betas: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError("each beta must be in [0, 1)")
        return betas


class ScheduleConfig(_Section):
    """The learning-rate schedule; "plateau" lowers lr by `factor` when the monitored loss stops improving."""

    name: Literal["plateau", "constant", "cosine"] = "plateau"
    monitor: Literal["train_loss", "val_loss"] = Field("train_loss", description="plateau: the loss watched once per epoch")
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="plateau: lr multiplier on a plateau")
    patience: int = Field(2, ge=0, description="plateau: epochs without improvement before lowering lr")
    threshold: float = Field(0.01, ge=0.0, description="plateau: relative improvement that counts")
    min_lr: float = Field(1e-4, ge=0.0, description="never lower lr below this")


class TrainConfig(_Section):
    """Budget, batching and device."""

    batch_size: int = Field(8, ge=1, le=MAX_BATCH, description="images per optimiser step, at most 65536")
    epochs: Optional[int] = Field(None, ge=1, description="stop after this many epochs")
    max_images: Optional[int] = Field(None, ge=1, description="stop after this many training images (a fair budget across models)")
    max_steps: Optional[int] = Field(None, ge=1, description="stop after this many optimiser steps")
    loss_threshold: Optional[float] = Field(None, gt=0.0, description="stop early once an epoch's mean training loss falls under it")
    device: str = Field("auto", description='"auto" (CUDA when present), "cpu", "cuda", "cuda:N" or "mps"')
    val_every: int = Field(1, ge=1, description="validate every N epochs")
    samples_every: int = Field(1, ge=1, description="write a gray | predicted | truth grid every N epochs")
    checkpoint_every: int = Field(1, ge=1, description="write the resumable checkpoint every N epochs")
    checkpoint_every_steps: Optional[int] = Field(None, ge=1, description="also write it every N optimiser steps inside an epoch, so a crash loses at most N steps")
    amp: Literal["off", "bf16", "fp16", "auto"] = Field("auto", description='mixed precision for the network\'s forward pass: "bf16", "fp16" (CUDA only, with loss scaling), "off", or "auto" (bf16, else fp16, on CUDA; off on CPU, where bf16 helps only CPUs with native bf16: docs/performance.md)')
    channels_last: bool | Literal["auto"] = Field("auto", description='keep the network\'s weights and activations in channels-last (NHWC) memory order; "auto": on (1.8x faster training on an H100, 1.3x on a Zen 4 CPU); false: NCHW')
    compile: bool = Field(False, description="run the network through torch.compile (opt-in: the first steps compile for a minute or more)")
    ema: Optional[float] = Field(None, gt=0.0, lt=1.0, description="also keep an exponential moving average of the weights, with this decay a step (0.998 averages about the last 500 steps); validation, best.safetensors and so every model made from the run use the average")

    @field_validator("device")
    @classmethod
    def _device_name(cls, device: str) -> str:
        problem = device_problem(device)
        if problem:
            raise ValueError(problem)
        return device

    @model_validator(mode="after")
    def _has_budget(self) -> "TrainConfig":
        if self.epochs is None and self.max_images is None and self.max_steps is None:
            raise ValueError("set at least one budget: epochs, max_images or max_steps")
        return self


class OutputConfig(_Section):
    """Where runs go and what they write."""

    dir: str = Field("runs", description="parent folder of run directories; its name must be UTF-8 (TensorBoard and safetensors cannot open other names)")
    samples: int = Field(4, ge=0, le=64, description="validation images in each sample grid")

    @field_validator("dir")
    @classmethod
    def _utf8(cls, folder: str) -> str:
        try:
            folder.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the folder name is not UTF-8, which TensorBoard and safetensors cannot open; choose another folder") from None
        return folder


class LogConfig(_Section):
    """Experiment tracking: TensorBoard by default, other registered loggers (`mlflow`) on request."""

    tensorboard: bool = Field(True, description="write TensorBoard event files to RUN_DIR/tensorboard (view: `tensorboard --logdir RUN_DIR`)")
    loggers: list[str] = Field(default_factory=list, description='more registered loggers, e.g. ["mlflow"] (`colorkit plugins` lists them)')
    every_steps: int = Field(10, ge=1, description="log the batch's loss terms, lr and images/s every N optimiser steps")
    images: bool = Field(True, description="log each gray | predicted | truth sample grid as an image")
    args: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per logger, e.g. [log.args.mlflow] tracking_uri = ...")


class Recipe(_Section):
    """A whole experiment."""

    name: SafeName = Field(description="run name; the run directory is NAME-TIMESTAMP inside output.dir, so the name is one folder name: letters, digits and . _ - + =, at most 100 characters, not starting with a dot")
    seed: Optional[int] = Field(None, ge=0, le=MAX_SEED, description="random seed, from 0 to 2**32 - 1 (the range numpy's and torch's generators both accept); left out, a concrete one is drawn and written back into the run's recipe.toml")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    preprocess: list[PreprocessStep] = Field(default_factory=list, description="preprocessors whose channels join L as network inputs")
    hints: Optional[HintsConfig] = Field(None, description="a `[hints]` section makes a hint model: its network also takes colour hints, simulated from the truth while training")
    loss: list[LossTerm] = Field(default_factory=lambda: [LossTerm(name="mse")], min_length=1)
    distill: Optional[DistillConfig] = Field(None, description="a `[distill]` section trains the network towards trained teachers' mean colour as well as the truth")
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(epochs=10))
    output: OutputConfig = Field(default_factory=OutputConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    @model_validator(mode="after")
    def _source_weights_match_sources(self) -> "Recipe":
        for i, term in enumerate(self.loss):
            if term.source_weights is not None and len(term.source_weights) != len(self.data.sources):
                raise ValueError(
                    f"loss.{i}.source_weights has {len(term.source_weights)} value(s) but the recipe has "
                    f"{len(self.data.sources)} [[data.sources]] entr{'y' if len(self.data.sources) == 1 else 'ies'}: give one per source, in their order"
                )
        return self

    @model_validator(mode="after")
    def _distill_needs_fixed_images_without_hints(self) -> "Recipe":
        if self.distill is not None and self.data.source == "sample" and not self.data.sources:
            raise ValueError(
                'distill: the "sample" source cuts new training crops every epoch, so the teachers cannot colour them once; '
                "train on a folder (data.source or [[data.sources]])"
            )
        if self.distill is not None and self.hints is not None:
            raise ValueError(
                "distill: the teachers colour without hints, so their colour is no target for a network given hints from the truth; "
                "train the hint model without [distill] (model.init may start it from a distilled network)"
            )
        return self

    def to_toml(self, command: str | None = None) -> str:
        """The recipe as TOML, optionally opened by a comment giving its command.

        Strings keep every character; a folder name that is not UTF-8 (held by Python as surrogates)
        stays as such; ``atomic_write_text`` writes it as the name's own bytes and :func:`read_toml`
        reads them back from a run directory's recipe.toml.
        """
        body = tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))
        return (f"# {_one_line(command)}\n" if command else "") + body


def _one_line(text: str) -> str:
    """``text`` with control characters (a newline in a folder name) as escapes, so it stays one line."""
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c for c in text)


def _shown(value: Any, limit: int = 80) -> str:
    """A user's value in a message: its repr on one line, shortened when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- loading -------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """An override value as TOML (numbers, booleans, strings, arrays); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise RecipeError(f"--set value {_shown(text, 40)}: nested too deeply (at most {MAX_DEPTH} levels)") from None


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` overrides; list items are addressed by index (``loss.0.weight=2``)."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"--set {item!r}: expected KEY=VALUE, for example train.lr=1e-4")
        _assign(raw, key.strip(), parse_value(value), f"--set {item!r}")
    return raw


def set_values(raw: dict, values: dict[str, Any]) -> dict:
    """Set dotted keys to values as they are (``{"data.source": folder}``): no TOML parsing, so a
    path keeps its backslashes, quotes and bytes that are not UTF-8."""
    for key, value in values.items():
        _assign(raw, key, value, f"key '{key}'")
    return raw


def _assign(raw: dict, key: str, value: Any, label: str) -> None:
    parts = key.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _list_item(node, part, parts[: i + 1])
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise RecipeError(f"{label}: '{'.'.join(parts[: i + 1])}' is not a table")
    last = parts[-1]
    if isinstance(node, list):
        idx = _index(last, parts)
        if idx > len(node) - 1:
            raise RecipeError(f"{label}: '{key}' is out of range")
        node[idx] = value
    else:
        node[last] = value


def _index(part: str, parts: list[str]) -> int:
    if not (part.isascii() and part.isdigit()):
        raise RecipeError(f"--set: '{'.'.join(parts)}': a list is addressed by index, e.g. loss.0.weight")
    return int(part)


def _list_item(node: list, part: str, parts: list[str]) -> Any:
    idx = _index(part, parts)
    if idx >= len(node):
        raise RecipeError(f"--set: '{'.'.join(parts)}' is out of range (the list has {len(node)} items)")
    return node[idx]


def _section_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at ``loc`` (for listing valid keys)."""
    cls: Any = Recipe
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = cls.model_fields.get(part) if isinstance(cls, type) and issubclass(cls, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        cls = args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else ann
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _describe(err: dict) -> str:
    loc = tuple(err["loc"])
    key = _one_line(".".join(str(p) for p in loc)) if loc else "(top level)"
    if err["type"] == "extra_forbidden":
        section = _section_at(loc)
        valid = sorted(section.model_fields) if section else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown key '{key}'; valid keys here: {', '.join(valid)}.{hint}"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict) or got is None else f" (got {_shown(got)})"
    return f"key '{key}': {msg}{shown}"


def _too_deep(value: Any, key: str = "", depth: int = 0) -> str | None:
    """The first key nested deeper than :data:`MAX_DEPTH` tables and arrays, or None."""
    if depth > MAX_DEPTH:
        return key or "(top level)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        found = _too_deep(v, f"{key}.{k}" if key else str(k), depth + 1)
        if found:
            return found
    return None


def parse_recipe(raw: dict, source: str) -> Recipe:
    """Validate a raw dict; ``source`` (usually the file path) is named in errors."""
    deep = _too_deep(raw)
    if deep:
        raise RecipeError(f"{source}: key '{_one_line(deep[:80])}': nested more than {MAX_DEPTH} tables or arrays deep")
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise RecipeError(f"{source}: " + "; ".join(lines)) from None
    problem = size_problem(recipe.data.size)
    if problem:
        raise RecipeError(f"{source}: key 'data.size': {problem}")
    return recipe


def read_toml(path: str | Path) -> dict:
    """A TOML file as a dict; any failure is one :class:`RecipeError` naming the file.

    A file must be UTF-8, except a run directory's ``recipe.toml``: colorkit writes a folder name
    that is not UTF-8 into it as the name's own bytes, and reads them back as the same name.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not _is_run_recipe(path):
            raise RecipeError(f"{path}: cannot read recipe: {exc}") from None
        text = data.decode("utf-8", "surrogateescape")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: TOML syntax error: {exc}") from None
    except RecursionError:
        raise RecipeError(f"{path}: nested too deeply (at most {MAX_DEPTH} tables or arrays)") from None


def _is_run_recipe(path: Path) -> bool:
    return path.name == "recipe.toml" and (path.parent / "checkpoints").is_dir()


def load_recipe(path: str | Path, overrides: list[str] = (), values: dict[str, Any] | None = None) -> Recipe:
    """Read, override and validate a recipe file (registry names are checked by :func:`check_names`).

    ``values`` are set after the overrides as they are (see :func:`set_values`): the CLI's paths.
    """
    raw = set_values(apply_overrides(read_toml(path), list(overrides)), values or {})
    return parse_recipe(raw, str(path))


# --- checks against the registries, still without building anything -------------------------------


def _unknown(key: str, names: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    shown = key or '""'  # an option named by the empty string
    return f"key '{where}.{shown}': unknown option; valid: {', '.join(names) or 'none'}.{hint}"


def _check_args(factory, args: dict, fixed: dict, where: str, name: str) -> list[str]:
    """Every problem of component ``name``'s options (``key '...': ...``): by its Options schema, else by its signature."""
    schema = options_schema(factory)
    if schema is not None:
        _, problems = option_problems(schema, args)
        names = list(schema.model_fields)
        lines = [_unknown(key, names, where) for key, msg in problems if msg == "unknown option"]
        values = [msg if key is None else f"{where}.{key}: {msg}" for key, msg in problems if msg != "unknown option"]
        return lines + ([f"key '{where}': {name}: " + "; ".join(_one_line(v) for v in values)] if values else [])
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    params = sig.parameters
    if isinstance(factory, type) and getattr(factory.__init__, "__qualname__", "") in ("object.__init__", "Module.__init__"):
        params = {}  # a class without its own __init__ (torch's generic *args, **kwargs) takes no options
    elif any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    names = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in fixed]
    for key in args:
        if key not in names:
            return [_unknown(key, names, where)]
    try:
        sig.bind_partial(**fixed, **args)
    except TypeError as exc:
        return [f"key '{where}': {exc}"]
    return []


def _option_problems(recipe: Recipe, host, source: str) -> list[str]:
    """Every option problem of the model, the losses and the preprocessors (unknown names raise at once)."""
    model = host.models.get(recipe.model.name)
    problems = _check_args(model.factory, recipe.model.args, {"in_channels": 1, "out_channels": 2}, "model.args", recipe.model.name)
    for section, registry, items in (("loss", host.losses, recipe.loss), ("preprocess", host.preprocessors, recipe.preprocess)):
        for i, item in enumerate(items):
            try:
                entry = registry.get(item.name)
            except RegistryError as exc:
                hint = install_hint(item.name) if section == "preprocess" else ""
                raise RecipeError(f"{source}: key '{section}.{i}.name': {_plugin_hint(exc, host)}{hint}") from None
            problems += _check_args(entry.factory, item.args, {}, f"{section}.{i}.args", item.name)
    return problems


def _plugin_hint(exc: Exception, host) -> str:
    """A registry error, plus the plugins that failed to load or register, which may be why."""
    broken = sorted({p.name for p in getattr(host, "plugins", ()) if p.errors})
    hint = f" Plugins with problems: {', '.join(broken)} (see colorkit plugins)." if broken else ""
    return str(exc).rstrip(".") + "." + hint if hint else str(exc)


def check_names(recipe: Recipe, host, source: str) -> None:
    """Check model and loss names and options against the registries, and the size against the stride."""
    try:
        model = host.models.get(recipe.model.name)
    except RegistryError as exc:
        raise RecipeError(f"{source}: key 'model.name': {_plugin_hint(exc, host)}") from None
    role = model_role(model.factory)
    if role != COLORIZER:
        usable = [n for n in host.models.names() if model_role(host.models.get(n).factory) == COLORIZER]
        raise RecipeError(f"{source}: key 'model.name': '{recipe.model.name}' is a {role}, not a {COLORIZER}; valid: {', '.join(usable)}")
    problems = _option_problems(recipe, host, source)
    if problems:
        raise RecipeError(f"{source}: " + "; ".join(problems))
    try:
        stride = input_stride(model.factory, recipe.model.args)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise RecipeError(f"{source}: key 'model.args': {exc}") from None
    if recipe.data.size % stride:
        lower, upper = recipe.data.size // stride * stride, (recipe.data.size // stride + 1) * stride
        raise RecipeError(
            f"{source}: key 'data.size': {recipe.data.size} is not divisible by the stride {stride} of "
            f"model '{recipe.model.name}'; try {lower or upper} or {upper}"
        )
    _check_preprocess(recipe, host, source)
    _check_hints(recipe, host, source)
    heads = {t.name: loss_out_channels(host.losses.get(t.name).factory) for t in recipe.loss}
    special = {name: n for name, n in heads.items() if n != AB_CHANNELS}
    if len(set(special.values())) > 1:
        raise RecipeError(f"{source}: key 'loss': losses need different network outputs {special}; keep one of them")
    _check_loggers(recipe, host, source)


def _check_preprocess(recipe: Recipe, host, source: str) -> None:
    """Preprocessor names and options, and ``part_weights`` against their channels and the loss."""
    channels: list[str] = []
    for i, step in enumerate(recipe.preprocess):
        registry = host.preprocessors
        try:  # cheap by contract: heavy models load on the first call
            names = list(preprocessor_channels(registry.build(step.name, **step.args)))
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{source}: key 'preprocess.{i}.args': {exc}") from None
        for name in names:
            if name in channels:
                raise RecipeError(f"{source}: key 'preprocess.{i}': channel '{name}' is already made by an earlier preprocessor")
        channels += names
    for i, term in enumerate(recipe.loss):
        if not term.part_weights:
            continue
        if not supports_pixel_weights(host.losses.get(term.name).factory):
            able = [n for n in host.losses.names() if supports_pixel_weights(host.losses.get(n).factory)]
            raise RecipeError(f"{source}: key 'loss.{i}.part_weights': loss '{term.name}' cannot use per-pixel weights; losses that can: {', '.join(able)}")
        for part in term.part_weights:
            if part not in channels:
                have = f"the preprocessors make: {', '.join(channels)}" if channels else 'no [[preprocess]] is set (add one, e.g. name = "face_parts")'
                raise RecipeError(f"{source}: key 'loss.{i}.part_weights.{part}': no preprocessor makes a channel '{part}'; {have}")


def _check_hints(recipe: Recipe, host, source: str) -> None:
    """The ``[hints]`` sampler's name and options (nothing is built)."""
    if recipe.hints is None:
        return
    try:
        entry = host.registries["hint_samplers"].get(recipe.hints.sampler)
    except RegistryError as exc:
        raise RecipeError(f"{source}: key 'hints.sampler': {_plugin_hint(exc, host)}") from None
    problems = _check_args(entry.factory, recipe.hints.args, {}, "hints.args", recipe.hints.sampler)
    if problems:
        raise RecipeError(f"{source}: " + "; ".join(problems))


def _check_loggers(recipe: Recipe, host, source: str) -> None:
    """Logger names, options and optional extras (``mlflow`` without MLflow is one clear line)."""
    registry = getattr(host, "registries", {}).get("loggers")
    if registry is None:
        return
    used = list(dict.fromkeys((["tensorboard"] if recipe.log.tensorboard else []) + list(recipe.log.loggers)))
    for i, name in enumerate(recipe.log.loggers):
        try:
            registry.get(name)
        except RegistryError as exc:
            raise RecipeError(f"{source}: key 'log.loggers.{i}': {exc}") from None
    for name, args in recipe.log.args.items():
        if name not in used:
            raise RecipeError(f"{source}: key 'log.args.{name}': logger '{name}' is not used; add it to log.loggers (in use: {', '.join(used) or 'none'})")
        problems = _check_args(registry.get(name).factory, args, {"run_dir": None, "recipe": None, "start_step": 0}, f"log.args.{name}", name)
        if problems:
            raise RecipeError(f"{source}: " + "; ".join(problems))
    for name in used:
        try:
            check_available(registry.get(name).factory)
        except ColorkitError as exc:
            raise RecipeError(f"{source}: key 'log': {exc}") from None


def validate_file(path: str | Path, host, overrides: list[str] = ()) -> Recipe:
    """Everything ``colorkit validate`` checks."""
    recipe = load_recipe(path, overrides)
    check_names(recipe, host, str(path))
    return recipe
