"""The training loop: a recipe in, a self-describing run directory out.

Data order, zoomed crops, flips and the sample photos' crops are drawn from the seed, the epoch and
the step; the checkpoint stores optimiser, schedule and RNG state with the position inside the
epoch, so a resumed run continues exactly where the checkpoint was written.
"""

from __future__ import annotations

import math
import random
import shutil
import signal
import time
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from colorkit import checkpoint as ckpt
from colorkit.build import build_hint_sampler, build_losses, build_model, build_optimizer, build_scheduler, hints_meta, model_spec, resolve_device
from colorkit.data.dataset import DataSplit, EpochSampler, build_datasets, collate
from colorkit.data.images import printable
from colorkit.data.lab import AB_SCALE, lab_to_rgb, rgb_to_lab, rgb_to_model_io
from colorkit.training import augment, distill, distributed
from colorkit.training import warm_start
from colorkit.errors import ColorkitError
from colorkit.files import append_jsonl, read_jsonl
from colorkit.hints import hint_inputs
from colorkit.inference.fast import amp_dtype
from colorkit.loggers import Loggers, open_loggers
from colorkit.metrics import psnr_batch
from colorkit.plugins import get_host
from colorkit.preprocess import Preprocessors
from colorkit.recipe import Recipe, check_names, load_recipe
from colorkit.report.grid import save_sample_grid
from colorkit.training.distributed import ShardBatches
from colorkit.training import run_dir as rundir
from colorkit.training.preflight import preflight
from colorkit.training.progress import NoProgress, ProgressReporter
from colorkit.training.run_dir import RunLock
from colorkit.training.signals import Interrupted, StopSignals, worker_init
from colorkit.training.state import Budget, TrainingState


_TRAIN_HINTS, _VAL_HINTS = 1, 2
"""Keys that keep the training hints' random draws apart from validation's (see ``Trainer._sample_hints``)."""


@dataclass
class TrainResult:
    run_dir: Path
    epochs: int
    steps: int
    images: int
    seconds: float
    stopped: str
    train_loss: float
    val_loss: float | None
    bad_files: int
    start_val: dict | None = None
    """A run from ``model.init``: the validation metrics of those weights before training."""
    best_epoch: int | None = None
    """The epoch ``best.safetensors`` comes from."""

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def _loader_safety() -> dict:
    """A DataLoader's own generator, so creating an iterator never draws from the global RNG (which a
    checkpoint restores), and workers that ignore Ctrl-C."""
    return {"generator": torch.Generator(), "worker_init_fn": worker_init}


def _loader_speed(data, device: torch.device, reusable: bool = True) -> dict:
    """Workers that stay up between epochs and load ``data.prefetch`` batches ahead; pinned memory on CUDA.

    A dataset that changes with the epoch (``set_epoch``: the sample crops) keeps fresh workers, which
    copy it anew each epoch."""
    speed = {"num_workers": data.workers, "pin_memory": device.type == "cuda"}
    if data.workers > 0:
        speed.update(persistent_workers=reusable, prefetch_factor=data.prefetch)
    return speed


def _amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``train.amp`` on ``device`` (None: full float32)."""
    if mode == "auto":
        if device.type != "cuda":
            return None  # on CPU on request: bf16 pays only with native bf16 (docs/performance.md)
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:
        return amp_dtype(None if mode == "off" else mode, device)
    except ValueError as exc:
        raise ColorkitError(f"train.amp = {mode!r}: {exc} (this run trains on {device})") from None


def _check_usable(dataset, what: str, hint: str) -> None:
    """A ColorkitError unless some item of ``dataset`` decodes (the probe stops at the first that does)."""
    first = None
    for i in range(len(dataset)):
        error = dataset[i].get("error")
        if error is None:
            return
        first = first or error
    raise ColorkitError(f"data: none of the {len(dataset)} {what} images can be read (the first: {first}); {hint}")


def _check_data(data: DataSplit, config) -> None:
    """Refuse, before training, data that yields no training image, or no validation image where
    validation was asked for (a split file listing only missing files, say)."""
    _check_usable(data.train, "training", "nothing to train on, training not started")
    no_val = "fix or replace them, or train without validation (data.val_fraction = 0 and no data.val_split)"
    if len(data.val):
        _check_usable(data.val, "validation", no_val)
    elif _val_splits(config):
        raise ColorkitError(f"data.val_split: none of the files listed in {', '.join(_val_splits(config))} exist; {no_val}")


def _val_splits(config) -> list[str]:
    """The validation split files a recipe's ``[data]`` names (its own, or its sources')."""
    return [s for s in [config.val_split, *(source.val_split for source in config.sources)] if s]


def _non_finite(record: dict, prefix: str = "") -> list[str]:
    """The (dotted) keys of ``record``'s numbers that are NaN or infinite."""
    bad = []
    for k, v in record.items():
        if isinstance(v, dict):
            bad += _non_finite(v, f"{prefix}{k}.")
        elif isinstance(v, float) and not math.isfinite(v):
            bad.append(f"{prefix}{k} = {v}")
    return bad


class Trainer:
    """One run: built from a recipe (new run) or from a run directory (resume)."""

    def __init__(self, recipe: Recipe, run_dir: Path, host, console: Console, resume: bool = False, lock: RunLock | None = None):
        self.recipe, self.run_dir, self.host, self.console = recipe, run_dir, host, console
        self.lock = lock
        """The run's lock when it is already held (by :func:`resume_run`); :meth:`run` takes it otherwise."""
        self.seed = recipe.seed
        torch.manual_seed(self.seed)
        random.seed(self.seed)
        self.world = distributed.current()
        self.device = self.world.device if self.world.active else resolve_device(recipe.train.device)
        self.data: DataSplit = build_datasets(recipe.data, self.seed)
        _check_data(self.data, recipe.data)
        self.preprocess = Preprocessors([s.model_dump() for s in recipe.preprocess], host) if recipe.preprocess else None
        self.data.train.preprocess = self.data.val.preprocess = self.preprocess
        self.losses = build_losses(recipe, host, self.preprocess.channels if self.preprocess else []).to(self.device)
        self.hint_sampler = build_hint_sampler(recipe, host)
        self.hints = hints_meta(recipe)
        """The ``[hints]`` settings as checkpoints record them (None without ``[hints]``)."""
        self.model_spec = model_spec(recipe, len(self.preprocess) if self.preprocess else 0, self.losses.out_channels)
        self.model = build_model(self.model_spec, host)
        if recipe.model.init and not resume:  # a resumed run has its own weights
            preprocess = self.preprocess.specs if self.preprocess else []
            warm_start.load(
                self.model, recipe.model.init, self.model_spec, preprocess, host, hints=self.hints, frozen_stats=recipe.model.freeze_norm_stats
            )
        self.model = self.model.to(self.device)
        if self.world.active and self.device.type == "cuda":
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)  # statistics of the global batch
        if recipe.train.channels_last in (True, "auto"):  # "auto": faster on CUDA and CPU alike (docs/performance.md)
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = None if recipe.train.ema is None else AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(recipe.train.ema), use_buffers=True)
        """The moving average of the weights (``train.ema``), or None; validation and best.safetensors use it."""
        self.opt = build_optimizer(recipe, self.model.parameters())
        self.amp = _amp_dtype(recipe.train.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.train_model = self.world.wrap(self.model)  # what the training step runs; self.model is saved
        if recipe.train.compile:
            self.train_model = torch.compile(self.train_model)
        n = len(self.data.train)
        self.sampler = EpochSampler(n, self.seed, self.data.mix)
        self.batches = ShardBatches(self.sampler, recipe.train.batch_size, self.world)
        reusable = not hasattr(self.data.train, "set_epoch")
        self.loader = DataLoader(
            self.data.train, batch_sampler=self.batches, collate_fn=collate,
            **_loader_speed(recipe.data, self.device, reusable), **_loader_safety(),
        )
        self.val_loader = DataLoader(
            self.data.val, batch_size=recipe.train.batch_size, collate_fn=collate,
            **_loader_speed(recipe.data, self.device), **_loader_safety(),
        )
        for turn in (True, False):  # rank 0 first, so the others read what it cached in the run directory
            if self.world.main == turn:
                self.losses.prepare(self._ab_batches, run_dir)
            self.world.barrier()
        self.teacher_ab = None
        """The ``[distill]`` teachers' mean ab of every training image (see :mod:`colorkit.training.distill`), or None."""
        for turn in (True, False) if recipe.distill else ():  # rank 0 computes them, the others read its file
            if self.world.main == turn:
                self.teacher_ab = distill.targets(
                    run_dir, self.data.train, recipe.distill, recipe.data.size, self.device, host, recipe.data.workers, say=lambda line: console.print(line, highlight=False)
                )
            self.world.barrier()
        self.aux_opts = self.losses.optimizers()
        if self.world.active and self.aux_opts:
            raise ColorkitError(
                f"loss {', '.join(self.aux_opts)}: a loss with its own optimiser (a discriminator) is not supported under "
                "torchrun yet; train it in one process"
            )
        self.budget = Budget.of(recipe.train)
        self.budget_images = self.budget.images(n)
        self.sched = build_scheduler(recipe, self.opt, math.ceil(self.budget_images / recipe.train.batch_size))
        self.state = TrainingState()
        self.data_wait = 0.0  # seconds this epoch spent waiting for batches
        self.epoch_sums: dict[str, float] = {}
        self.epoch_count = 0
        self.bad_names: set[str] = set(self.data.problems)
        self.bad_names.update(self.data.missing)
        self.state.bad_files = len(self.bad_names)
        self.loggers, self.step_logs = Loggers(), {}  # opened by run()
        self.pending_bad: list[str] = []
        if resume:
            self._load_last()

    def _ab_batches(self):
        """The training set's true ab once, in file order, for losses that estimate a prior."""
        loader = DataLoader(self.data.train, batch_size=64, collate_fn=collate, num_workers=self.recipe.data.workers, **_loader_safety())
        for batch in loader:
            if batch["rgb"] is not None:
                yield rgb_to_model_io(batch["rgb"].to(self.device).float() / 255.0)[1]

    # --- checkpoints ---------------------------------------------------------------------------
    @property
    def meta(self) -> dict:
        meta = {
            "model": self.model_spec,
            "decoder": self.losses.decoder_spec,
            "preprocess": self.preprocess.specs if self.preprocess else [],
            "size": self.recipe.data.size,
            "recipe": self.recipe.name,
        }
        return meta if self.hints is None else dict(meta, hints=self.hints)

    def _save(self, name: str, training: bool) -> None:
        if not self.world.main:  # the ranks hold the same state; rank 0 writes it
            return
        path = self.run_dir / "checkpoints" / f"{name}.safetensors"
        try:
            if not training:
                ckpt.save_checkpoint(path, modules={"model": self._eval_model}, meta=self.meta)
                return
            state = dict(self.state.to_dict(), epoch_sums=self.epoch_sums, epoch_count=self.epoch_count, bad_names=sorted(self.bad_names))
            state["scheduler"] = self.sched.state_dict() if self.sched is not None else None
            state["scaler"] = self.scaler.state_dict()
            ckpt.save_checkpoint(path, modules=self._modules, meta=self.meta, optimizers=self._optimizers, state=state)
        except ColorkitError as exc:  # a full disk, say: the previous checkpoint is intact
            raise ColorkitError(f"{exc}; training stopped, continue later with: colorkit run --resume {self.run_dir}") from None

    @property
    def _eval_model(self) -> torch.nn.Module:
        """What validation scores and best.safetensors keeps: the moving average with ``train.ema``, else the network."""
        return self.model if self.ema is None else self.ema.module

    @property
    def _modules(self) -> dict:
        return {"model": self.model, "losses": self.losses} | ({} if self.ema is None else {"ema": self.ema})

    @property
    def _optimizers(self) -> dict:
        return {"model": self.opt, **self.aux_opts}

    def _load_last(self) -> None:
        path = self.run_dir / "checkpoints" / "last.safetensors"
        tensors, meta = ckpt.read_checkpoint(path)
        if meta.get("model") != self.model_spec:
            raise ColorkitError(f"{path}: checkpoint is for model {meta.get('model')}, the run's recipe builds {self.model_spec}")
        modules = self._modules
        if not any(k.startswith("ema.") for k in tensors):  # train.ema set on resume: the average starts from these weights
            modules.pop("ema", None)
        ckpt.load_modules(path, tensors, modules)
        ckpt.restore_training(tensors, meta, self._optimizers, path)
        state = dict(meta["state"])
        sched_state = state.pop("scheduler", None)
        scaler_state = state.pop("scaler", None)
        if scaler_state and self.scaler.is_enabled():
            self.scaler.load_state_dict(scaler_state)
        if self.sched is not None and sched_state is not None:
            self.sched.load_state_dict(sched_state)
        self.epoch_sums = state.pop("epoch_sums", {})
        self.epoch_count = state.pop("epoch_count", 0)
        self.bad_names.update(state.pop("bad_names", []))
        self.state = TrainingState.from_dict(dict(state, done=None))  # a finished run may continue with a larger budget
        self.state.bad_files = len(self.bad_names)

    def _interrupted(self, signum: int) -> None:
        self._save("last", training=True)
        s = self.state
        raise Interrupted(
            signum,
            f"{signal.Signals(signum).name}: saved a resumable checkpoint (epoch {s.epoch}, batch {s.batch}, "
            f"step {s.step}); continue with: colorkit run --resume {self.run_dir}",
        )

    # --- loop ----------------------------------------------------------------------------------
    def _lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def _augment(self, rgb: torch.Tensor, extra: torch.Tensor | None, teacher: torch.Tensor | None) -> tuple:
        """The batch as ``(L, ab, extra, teacher)`` after its random crops (``data.crop_scale``) and flips
        (``data.flip``), the same in the colour, the preprocessor channels and the teachers' ab."""
        data, lo = self.recipe.data, self.batches.offset()  # this rank's place in the global batch
        if data.crop_scale < 1:
            rgb, extra, teacher = augment.random_crops((rgb, extra, teacher), data.crop_scale, self.seed, self.state.step, lo)
        L, ab = rgb_to_model_io(rgb)
        if not data.flip:
            return L, ab, extra, teacher
        return augment.random_flips((L, ab, extra, teacher), self.seed, self.state.step, lo)

    def _extra(self, batch: dict) -> torch.Tensor | None:
        """The batch's preprocessor channels on the device, or None without preprocessors."""
        extra = batch.get("extra")
        return None if extra is None else extra.to(self.device, non_blocking=True).float()

    def _empty_batch(self) -> dict:
        """A black image standing in for a rank's empty slice of the last global batch (its loss weight is 0)."""
        size = self.recipe.data.size
        batch = {"rgb": torch.zeros(1, 3, size, size, dtype=torch.uint8), "index": torch.zeros(1, dtype=torch.long), "errors": []}
        if self.preprocess:
            batch["extra"] = torch.zeros(1, len(self.preprocess), size, size)
        return batch

    def _inputs(self, L: torch.Tensor, extra: torch.Tensor | None, hints: torch.Tensor | None = None) -> torch.Tensor:
        """The network input: L, then the preprocessor channels, then a hint model's hint channels
        (``hints``; None: no hint, all zero), as ``Colorizer.network_inputs`` builds it."""
        parts = [L] if extra is None else [L, extra.to(L.dtype)]
        if self.hint_sampler is not None:
            parts.append(hint_inputs(L, hints, self.hints))
        return torch.cat(parts, 1) if len(parts) > 1 else L

    def _sample_hints(self, ab: torch.Tensor, L: torch.Tensor, *key: int) -> torch.Tensor | None:
        """Hints drawn from the true ``ab`` by the recipe's sampler (None without ``[hints]``), from a
        generator seeded by the run's seed and ``key``: the same key gives the same hints."""
        if self.hint_sampler is None:
            return None
        seed = int(np.random.SeedSequence([self.seed, *key]).generate_state(1)[0])
        return self.hint_sampler(ab, L, torch.Generator().manual_seed(seed))

    def _batches(self):
        """This epoch's remaining batches; a resumed checkpoint skips those it already trained on."""
        self.sampler.set_epoch(self.state.epoch, start=self.state.batch * self.recipe.train.batch_size)
        if hasattr(self.data.train, "set_epoch"):
            self.data.train.set_epoch(self.state.epoch)
        return iter(self.loader)

    def _note_bad(self, errors: list[str]) -> None:
        """Report each unreadable file once (training or validation) and keep the count in the state."""
        if self.world.active:  # every rank's, once an epoch (see _merge_bad)
            self.pending_bad.extend(errors)
        else:
            self._report_bad(errors)

    def _report_bad(self, errors: list[str]) -> None:
        for err in errors:
            if err not in self.bad_names:
                self.bad_names.add(err)
                self.console.print(f"[yellow]skipped[/] {escape(printable(err))}", highlight=False, soft_wrap=True)
        self.state.bad_files = len(self.bad_names)

    def _sources(self, batch: dict, val: bool = False) -> torch.Tensor | None:
        """Each image's place in ``data.sources`` (None with one folder), for losses with ``source_weights``."""
        source = self.data.sources(batch["index"], val)
        return None if source is None else source.to(self.device)

    def _train_step(self, batch: dict) -> int:
        self._note_bad(batch["errors"])
        n = 0 if batch["rgb"] is None else batch["rgb"].shape[0]
        n_all = int(self.world.sum([n])[0])  # images in the global batch
        if n_all == 0:
            return 0
        if n == 0:  # this rank's slice is empty: it still joins the gradient average, with weight 0
            batch = self._empty_batch()
        rgb = batch["rgb"].to(self.device, non_blocking=True).float() / 255.0
        teacher = None if self.teacher_ab is None else distill.batch_targets(self.teacher_ab, batch["index"], self.device)
        L, ab, extra, teacher = self._augment(rgb, self._extra(batch), teacher)
        # after the crops and flips, so the hints match the truth the network sees; this rank's offset: its own draws
        hints = self._sample_hints(ab, L, _TRAIN_HINTS, self.state.step, self.batches.offset())
        self.model.train()
        if self.recipe.model.freeze_norm_stats:
            warm_start.freeze_norm_stats(self.model)
        self.losses.train()
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            output = self.train_model(self._inputs(L, extra, hints))
        output = output.float()
        source = self._sources(batch)
        total, logs = self.losses(output, ab, L=L, extra=extra, source=source)
        if teacher is not None:  # the same losses against the teachers' mean; the logged terms stay the truth's
            taught, _ = self.losses(output, teacher, L=L, extra=extra, source=source)
            w = self.recipe.distill.weight
            total = (1 - w) * total + w * taught
            logs = dict(logs, teachers=float(taught.detach()), total=float(total.detach()))
        if not torch.isfinite(total):
            raise ColorkitError(f"training diverged at step {self.state.step}: loss is {float(total)}; lower optim.lr")
        self.opt.zero_grad(set_to_none=True)
        # DDP averages gradients over ranks: weighting by this rank's share gives the global batch mean
        self.scaler.scale(total * (n * self.world.size / n_all) if self.world.active else total).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        logs.update(self.losses.auxiliary_step(output, ab, L=L))
        if self.world.active:  # the global batch's means, the same on every rank
            sums = self.world.sum([v * n for v in logs.values()])
            logs = {k: v / n_all for k, v in zip(logs, sums)}
        self.step_logs = logs
        if self.sched is not None and self.recipe.schedule.name == "cosine":
            self.sched.step()
        n = n_all
        for k, v in logs.items():
            self.epoch_sums[k] = self.epoch_sums.get(k, 0.0) + v * n
        self.epoch_count += n
        self.state.step += 1
        self.state.images += n
        return n

    def _validate_once(self) -> dict:
        """Rank 0 validates the whole set (with the unwrapped network) and shares the result."""
        out = self.world.broadcast(self.validate() if self.world.main else None)
        if not out and len(self.data.val):
            raise ColorkitError(
                f"epoch {self.state.epoch}: none of the {len(self.data.val)} validation images could be read, so this "
                f"epoch cannot be scored{self._resume_hint()}"
            )
        return out

    @torch.no_grad()
    def validate(self) -> dict:
        model = self._eval_model
        model.eval()
        self.losses.eval()
        sums: dict[str, float] = {}
        count = 0
        first = None
        for i, batch in enumerate(self.val_loader):
            self._note_bad(batch["errors"])
            if batch["rgb"] is None:
                continue
            rgb = batch["rgb"].to(self.device, non_blocking=True).float() / 255.0
            L, ab = rgb_to_model_io(rgb)
            extra = self._extra(batch)
            output = model(self._inputs(L, extra))
            _, logs = self.losses(output, ab, L=L, extra=extra, source=self._sources(batch, val=True))
            pred_ab = self.losses.decode(output)
            lab = rgb_to_lab(rgb)
            pred_rgb = lab_to_rgb(torch.cat([lab[:, :1], pred_ab * AB_SCALE], 1))
            ab_mse = ((pred_ab - ab) * AB_SCALE).pow(2).mean(dim=(1, 2, 3))
            n = rgb.shape[0]
            for k, v in logs.items():
                sums[f"val_{k}"] = sums.get(f"val_{k}", 0.0) + v * n
            sums["val_ab_mse"] = sums.get("val_ab_mse", 0.0) + float(ab_mse.sum())
            sums["val_psnr"] = sums.get("val_psnr", 0.0) + float(psnr_batch(pred_rgb, rgb, min_mse=1e-10).sum())
            hints = self._sample_hints(ab, L, _VAL_HINTS, i)  # the same hints every epoch
            if hints is not None:
                hinted_ab = self.losses.decode(model(self._inputs(L, extra, hints)))
                hinted_rgb = lab_to_rgb(torch.cat([lab[:, :1], hinted_ab * AB_SCALE], 1))
                sums["val_psnr_hints"] = sums.get("val_psnr_hints", 0.0) + float(psnr_batch(hinted_rgb, rgb, min_mse=1e-10).sum())
            count += n
            if first is None:
                first = (rgb, pred_rgb)
        if count == 0:
            return {}
        out = {k: v / count for k, v in sums.items()}
        if first is not None and not _non_finite(out) and self.recipe.output.samples and self.state.epoch % self.recipe.train.samples_every == 0:
            k = self.recipe.output.samples
            grid = self.run_dir / "samples" / f"epoch-{self.state.epoch:04d}.png"
            save_sample_grid(grid, first[0][:k], first[1][:k])
            self.loggers.log_image(self.state.step, "samples", grid)
        return out

    def _end_epoch(self, seconds: float, images_in_epoch: int) -> dict:
        s, t = self.state, self.recipe.train
        train = {k: v / max(1, self.epoch_count) for k, v in self.epoch_sums.items()}
        record = {
            "epoch": s.epoch,
            "step": s.step,
            "images": s.images,
            "lr": self._lr(),
            "train_loss": train["total"],
            "terms": train,
            "images_per_s": images_in_epoch / seconds if seconds > 0 else None,
            "data_wait_s": self.data_wait,
            "seconds": s.seconds,
            "bad_files": s.bad_files,
        }
        if self.world.active:
            self._merge_bad()
            record["bad_files"] = s.bad_files
        if s.epoch % t.val_every == 0 or not self.budget.left(s):
            record.update(self._validate_once())
            self._merge_bad()
            record["bad_files"] = s.bad_files  # validation may have found more
        bad = _non_finite(record)
        if bad:
            raise ColorkitError(
                f"epoch {s.epoch}: {', '.join(bad)}: training diverged; this epoch is neither logged nor saved as "
                "best; lower optim.lr"
            )
        monitor = record.get("val_total") if self.recipe.schedule.monitor == "val_loss" else record["train_loss"]
        if self.sched is not None and self.recipe.schedule.name == "plateau" and monitor is not None:
            self.sched.step(monitor)
        score = record.get("val_total", record["train_loss"])
        if s.best is None or not math.isfinite(s.best) or score < s.best:  # NaN: an older run's
            s.best, s.best_epoch = score, s.epoch
            self._save("best", training=False)
        if self.world.main:
            append_jsonl(self.run_dir / "metrics.jsonl", record)
        self.loggers.log_epoch(record)
        self.epoch_sums, self.epoch_count, self.data_wait = {}, 0, 0.0
        return record

    def _merge_bad(self) -> None:
        """Under torchrun: collect every rank's unreadable files, so rank 0 reports them all once."""
        if not self.world.active:
            return
        errors, self.pending_bad = self.pending_bad, []
        self._report_bad(sorted({e for part in self.world.gather(errors) for e in part}))

    def run(self, progress: ProgressReporter | None = None) -> TrainResult:
        """Train until the budget, the loss threshold or a signal stops the run; ``progress`` (none by
        default) is told the images done of the budget, step by step."""
        s, t = self.state, self.recipe.train
        progress = progress or NoProgress()
        record: dict = {}
        stopped = "budget"
        main = self.world.main
        loggers = open_loggers(self.recipe, self.run_dir, self.host, start_step=s.step, warn=self.console.print) if main else Loggers()
        stop = StopSignals()
        lock = (self.lock or RunLock(self.run_dir)) if main else nullcontext()
        self.lock = None  # released when this run ends
        with lock, closing(progress), loggers, stop:
            self.loggers = loggers
            for line in sorted(self.bad_names):
                self.console.print(f"[yellow]skipped[/] {escape(printable(line))}", highlight=False, soft_wrap=True)
            if self.recipe.model.init and s.step == 0 and s.start_val is None and len(self.data.val):
                self._validate_start()
            progress.start(self.recipe.name, self.budget_images, s.images)
            try:
                while self.budget.left(s) and s.done is None:
                    t0 = tick = fetch = time.perf_counter()
                    images0 = s.images
                    for batch in self._batches():
                        self.data_wait += time.perf_counter() - fetch
                        n = self._train_step(batch)
                        s.batch += 1
                        if self.world.active:  # a signal on any rank stops every rank at this step
                            stop.signum = self.world.max(stop.signum or 0) or None
                        now = time.perf_counter()
                        s.seconds += now - tick
                        tick = now
                        rate = (s.images - images0) / max(1e-9, now - t0)
                        loss = self.epoch_sums.get("total", 0.0) / max(1, self.epoch_count)
                        progress.advance(n, f"loss {loss:.4f}  lr {self._lr():.1e}  {rate:.1f} img/s")
                        if n:
                            self.loggers.log_train_step(s.step, self.step_logs, lr=self._lr(), images_per_s=rate)
                        if t.checkpoint_every_steps and n and s.step % t.checkpoint_every_steps == 0:
                            self._save("last", training=True)
                        fetch = time.perf_counter()
                        if stop.signum or not self.budget.left_mid_epoch(s):
                            break
                    if stop.signum:
                        self._interrupted(stop.signum)
                    if self.epoch_count == 0:
                        self._nothing_trained()
                    seconds = time.perf_counter() - t0
                    s.epoch += 1  # a budget that runs out inside an epoch ends the run there
                    s.batch = 0
                    record = self._end_epoch(seconds, s.images - images0)
                    if t.loss_threshold is not None and record["train_loss"] < t.loss_threshold:
                        stopped = f"loss {record['train_loss']:.4g} < threshold {t.loss_threshold:g}"
                        s.done = stopped
                    if s.epoch % t.checkpoint_every == 0 or not self.budget.left(s):
                        self._save("last", training=True)
                    if stop.signum:
                        self._interrupted(stop.signum)
            except KeyboardInterrupt:  # a second Ctrl-C: the state may be mid-step, so nothing is saved
                self.console.print(
                    f"[yellow]stopped at once[/], without saving; colorkit run --resume {self.run_dir} "
                    "continues from the last checkpoint"
                )
                raise
        if s.done is None:
            s.done = stopped
        self._save("last", training=True)
        return TrainResult(
            run_dir=self.run_dir,
            epochs=s.epoch,
            steps=s.step,
            images=s.images,
            seconds=s.seconds,
            stopped=s.done,
            train_loss=record.get("train_loss", float("nan")),
            val_loss=record.get("val_total"),
            bad_files=s.bad_files,
            start_val=s.start_val,
            best_epoch=s.best_epoch,
        )

    def _validate_start(self) -> None:
        """Score the ``model.init`` weights on the validation photos before the first step (the sample
        grid ``epoch-0000.png`` shows them), so that the run can be judged against where it started."""
        self.state.start_val = self._validate_once()
        if "val_psnr" in self.state.start_val:
            self.console.print(f"model.init before training: val PSNR {self.state.start_val['val_psnr']:.2f} dB", highlight=False)

    def _nothing_trained(self) -> None:
        """An epoch that made no optimiser step (its images became unreadable since the start): an error."""
        raise ColorkitError(
            f"epoch {self.state.epoch + 1}: no training image could be read ({self.state.bad_files} unreadable "
            f"files), so nothing was trained{self._resume_hint()}"
        )

    def _resume_hint(self) -> str:
        """How to go on after the data failed in the middle of a run (the last checkpoint is left as it was)."""
        if not (self.run_dir / "checkpoints" / "last.safetensors").is_file():
            return "; no checkpoint was written yet"
        return f"; the last checkpoint is kept: once the files are readable, continue with: colorkit run --resume {self.run_dir}"


def start_run(recipe: Recipe, *, source: str = "recipe", host=None, console: Console | None = None) -> Trainer:
    """Validate the recipe against the registries, create the run directory and build the trainer."""
    host = host or get_host()
    console = console or Console(stderr=True)
    check_names(recipe, host, source)
    world = distributed.setup(recipe.train.device)
    distributed.check_batch(recipe.train.batch_size, world)
    if recipe.seed is None:
        recipe = recipe.model_copy(update={"seed": random.SystemRandom().randrange(2**31)})
    recipe = recipe.model_copy(update={"data": recipe.data.resolved()})
    if recipe.model.init and Path(recipe.model.init).exists():  # a path, not a pretrained model's name
        recipe = recipe.model_copy(update={"model": recipe.model.model_copy(update={"init": str(Path(recipe.model.init).resolve())})})
    if recipe.distill:  # teachers given as paths, resolved like model.init (names of pretrained models stay)
        teachers = [str(Path(t).resolve()) if Path(t).exists() else t for t in recipe.distill.teachers]
        recipe = recipe.model_copy(update={"distill": recipe.distill.model_copy(update={"teachers": teachers})})
    preflight(recipe, host, source)  # loss options and model.init are checked before anything is written
    # rank 0 names and writes the run directory, then tells the others (with its seed)
    run_dir, recipe = world.broadcast((rundir.create(recipe) if world.main else None, recipe))
    try:
        if world.main:
            rundir.write_recipe(run_dir, recipe, f"colorkit run --resume {run_dir}  (resolved from {source})")
        trainer = Trainer(recipe, run_dir, host, console if world.main else Console(quiet=True))
    except BaseException:  # bad data or an option the factory refused: nothing was trained, leave nothing behind
        if world.main:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if world.main:
        rundir.write_environment(run_dir, trainer.device, host, world.size)
    return trainer


def resume_run(run_dir: str | Path, *, overrides: list[str] = (), host=None, console: Console | None = None) -> Trainer:
    """Rebuild the trainer of an existing run from its resolved recipe and last checkpoint.

    ``overrides`` (for example a larger ``train.epochs``) are applied and written back to the run's
    recipe.toml, so the run directory keeps describing what was trained. Nothing in the run directory
    changes until the overrides are valid, the run's lock is held and the trainer is built with the
    checkpoint loaded: a refused or failed resume leaves every file as it was.
    """
    run_dir = Path(run_dir)
    rundir.check_resumable(run_dir)
    host = host or get_host()
    recipe = load_recipe(run_dir / "recipe.toml", overrides)
    check_names(recipe, host, str(run_dir / "recipe.toml"))
    world = distributed.setup(recipe.train.device)
    distributed.check_batch(recipe.train.batch_size, world)
    lock = RunLock(run_dir) if world.main else None
    try:
        console = (console or Console(stderr=True)) if world.main else Console(quiet=True)
        trainer = Trainer(recipe, run_dir, host, console, resume=True, lock=lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if world.main:  # everything that can fail has passed: now repair and update the run directory
        rundir.repair(run_dir, trainer.state.epoch)
        if overrides:
            rundir.write_recipe(run_dir, recipe, f"colorkit run --resume {run_dir}  (resumed with --set {' --set '.join(overrides)})")
    world.barrier()
    return trainer


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The run's metrics.jsonl records (a line torn by a crash is left out)."""
    return read_jsonl(Path(run_dir) / "metrics.jsonl")
