"""Build what a recipe describes: the weighted loss set, the network, optimiser and schedule."""

from __future__ import annotations

import torch
from torch import nn

from colorkit.contracts import AB_CHANNELS, loss_out_channels, needs_prepare
from colorkit.errors import ColorkitError
from colorkit.hints import hint_channels
from colorkit.hints.skip import SpreadSkip
from colorkit.losses.base import Loss
from colorkit.preprocess import part_weight_map
from colorkit.recipe import Recipe, device_problem


RESERVED_LOGS = ("total", "ab_mse", "psnr", "psnr_hints", "teachers")
"""What the trainer logs beside the loss terms (``total`` here, ``teachers`` with ``[distill]``, the rest validation's metrics): no term may log as one."""


class LossSet(nn.Module):
    """The recipe's weighted losses. Returns the total and every named term for logging.

    At most one loss may ask for a special network output (class logits, say); it then decodes the
    output to ab for the other losses and for colorizing. A term with ``part_weights`` gets the
    per-pixel weight map made from the preprocessor channels (``extra=``, named by ``channels``). A
    term with ``source_weights`` is computed on each source's images apart (``source=``, each image's
    source) and mixed by the images' shares of the batch times their source's weight, so each image
    counts with its source's weight.
    """

    def __init__(self, terms: list[tuple[str, float, Loss]], specs: list[dict], channels: list[str] = (),
                 part_weights: list[dict] | None = None, source_weights: list[list[float] | None] | None = None):
        super().__init__()
        self.channels = list(channels)
        self.part_weights = part_weights or [{} for _ in terms]
        self.source_weights = source_weights or [None for _ in terms]
        self.names = [name for name, _, _ in terms]
        self.weights = [weight for _, weight, _ in terms]
        self.losses = nn.ModuleList(loss for _, _, loss in terms)
        head = [i for i, loss in enumerate(self.losses) if loss_out_channels(loss) != AB_CHANNELS]
        self.head = head[0] if head else None
        self.decoder_spec = specs[self.head] if head else None

    @property
    def out_channels(self) -> int:
        return loss_out_channels(self.losses[self.head]) if self.head is not None else AB_CHANNELS

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        return self.losses[self.head].decode(output) if self.head is not None else output

    def _ab_for_others(self, output: torch.Tensor) -> torch.Tensor:
        """``output`` decoded to ab when some loss needs ab from a special output, else ``output`` as is."""
        others = any(loss_out_channels(loss) != self.out_channels for loss in self.losses)
        return self.decode(output) if others else output

    def _label(self, i: int) -> str:
        name = self.names[i]
        return f"{name}{i}" if self.names.count(name) > 1 else name

    def prepare(self, ab_batches, cache_dir) -> None:
        """Run each loss's one-off look at the training data (``ab_batches()`` gives a fresh iterator)."""
        for loss in self.losses:
            if needs_prepare(loss):
                loss.prepare(ab_batches(), cache_dir)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The losses' own optimisers (a discriminator's, say), named for checkpoints."""
        found = {f"loss.{self._label(i)}": loss.configure_optimizer() for i, loss in enumerate(self.losses)}
        return {k: v for k, v in found.items() if v is not None}

    def auxiliary_step(self, output: torch.Tensor, target: torch.Tensor, **context) -> dict[str, float]:
        """Train the losses' own parts on the detached output; returns their logged values."""
        output = output.detach()
        ab = self._ab_for_others(output)
        logs: dict[str, float] = {}
        for i, loss in enumerate(self.losses):
            pred = output if loss_out_channels(loss) == self.out_channels else ab
            for key, value in loss.auxiliary_step(pred, target, **context).items():
                logs[f"{self._label(i)}.{key}"] = float(value)
        return logs

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """Buffers and trainable parameters; frozen pretrained weights are left to their source."""
        frozen = {name for name, p in self.named_parameters(remove_duplicate=False) if not p.requires_grad}
        return {k: v for k, v in self.state_dict().items() if k not in frozen}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        expected = set(self.checkpoint_state())
        if set(state) != expected:
            diff = sorted(set(state) ^ expected)[:3]
            raise RuntimeError(f"loss state does not match the recipe's losses (differs in {', '.join(diff)})")
        self.load_state_dict(state, strict=False)

    def forward(self, output: torch.Tensor, target: torch.Tensor, *, extra: torch.Tensor | None = None,
                source: torch.Tensor | None = None, **context) -> tuple[torch.Tensor, dict[str, float]]:
        ab = self._ab_for_others(output)
        total = output.new_zeros(())
        logs: dict[str, float] = {}
        for i, (name, weight, loss) in enumerate(zip(self.names, self.weights, self.losses)):
            pred = output if loss_out_channels(loss) == self.out_channels else ab
            term_context = dict(context)
            if self.part_weights[i]:
                if extra is None:
                    raise ColorkitError(f"loss.{i} ('{name}'): part_weights need the preprocessor channels (extra=)")
                term_context["pixel_weights"] = part_weight_map(extra.to(pred.dtype), self.channels, self.part_weights[i])
            if self.source_weights[i] is None:
                terms = loss(pred, target, **term_context)
            elif source is None:
                raise ColorkitError(f"loss.{i} ('{name}'): source_weights need each image's source (source=)")
            else:
                terms = _by_source(loss, name, self.source_weights[i], pred, target, source, term_context)
            label = self._label(i)
            for key, value in terms.items():
                log = label if key == name else f"{label}.{key}"
                if log in RESERVED_LOGS:
                    raise ColorkitError(f"loss.{i} ('{name}'): its term '{key}' would log as '{log}', which colorkit logs itself; name the term otherwise")
                logs[log] = float(value.detach())
                total = total + weight * value
        logs["total"] = float(total.detach())
        return total, logs


def _by_source(loss: Loss, name: str, weights: list[float], pred, target, source, context) -> dict[str, torch.Tensor]:
    """``loss``'s terms with each image weighted by ``weights[source]``: the loss on each source's
    images (their slice of every per-image tensor in ``context`` too), times the source's weight and
    the images' share of the batch. A source of weight 0 is not computed; a batch of only such images
    gives a zero that still reaches the network, so backward works."""
    n = source.shape[0]
    terms: dict[str, torch.Tensor] = {}
    for s in source.unique().tolist():
        if weights[s] == 0:
            continue
        mask = source == s
        part = {k: v[mask] if isinstance(v, torch.Tensor) and v.shape[:1] == (n,) else v for k, v in context.items()}
        share = weights[s] * int(mask.sum()) / n
        for key, value in loss(pred[mask], target[mask], **part).items():
            terms[key] = terms.get(key, 0.0) + share * value
    return terms or {name: pred.sum() * 0.0}


def build_losses(recipe: Recipe, host, channels: list[str] = ()) -> LossSet:
    """The recipe's losses; ``channels`` names the preprocessor channels ``part_weights`` refer to."""
    terms, specs = [], []
    for i, term in enumerate(recipe.loss):
        try:
            loss = host.losses.build(term.name, **term.args)
        except (TypeError, ValueError) as exc:
            raise ColorkitError(f"loss.{i} ('{term.name}'): {exc}") from None
        terms.append((term.name, term.weight, loss))
        specs.append({"name": term.name, "args": term.args})
    return LossSet(terms, specs, channels, [dict(t.part_weights) for t in recipe.loss], [t.source_weights for t in recipe.loss])


def model_spec(recipe: Recipe, extra_channels: int, out_channels: int) -> dict:
    """What a run's checkpoints record about its network: registry name, options and channel counts
    (L plus ``extra_channels`` preprocessor channels, plus the hint channels with ``[hints]``, in;
    ``out_channels``, set by the losses, out), and ``spread_skip: true`` for a ``[hints.spread]``
    model whose output gets the spread hints added (:mod:`colorkit.hints.skip`)."""
    hints = len(hint_channels(hints_meta(recipe)))
    spec = {"name": recipe.model.name, "args": recipe.model.args, "in_channels": 1 + extra_channels + hints, "out_channels": out_channels}
    spread = recipe.hints.spread if recipe.hints is not None else None
    if spread is None or not spread.skip:
        return spec
    if out_channels != AB_CHANNELS:
        raise ColorkitError(f"hints.spread.skip: the losses make the network predict {out_channels} channels, not ab, so the spread hints "
                            "cannot be added to its output; set skip = false in [hints.spread] or use a loss that predicts ab (mse, l1...)")
    return dict(spec, spread_skip=True)


def hints_meta(recipe: Recipe) -> dict | None:
    """The ``[hints]`` table as a checkpoint records it (``meta["hints"]``, what ``Colorizer.hints`` gives), or None."""
    return None if recipe.hints is None else recipe.hints.model_dump(mode="json", exclude_none=True)


def build_hint_sampler(recipe: Recipe, host):
    """The recipe's hint sampler (``[hints]``), or None for a model without hints."""
    if recipe.hints is None:
        return None
    try:
        return host.registries["hint_samplers"].build(recipe.hints.sampler, **recipe.hints.args)
    except (TypeError, ValueError) as exc:
        raise ColorkitError(f"hints ('{recipe.hints.sampler}'): {exc}") from None


def build_model(spec: dict, host) -> nn.Module:
    """A network from ``{"name", "args", "in_channels", "out_channels"}`` (as stored in checkpoints; with
    ``"spread_skip": true``, wrapped in :class:`~colorkit.hints.skip.SpreadSkip`)."""
    try:
        net = host.models.build(spec["name"], in_channels=spec["in_channels"], out_channels=spec["out_channels"], **spec["args"])
    except (TypeError, ValueError) as exc:
        raise ColorkitError(f"model '{spec['name']}': {exc}") from None
    return SpreadSkip(net) if spec.get("spread_skip") else net


def build_optimizer(recipe: Recipe, params) -> torch.optim.Optimizer:
    o = recipe.optim
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def build_scheduler(recipe: Recipe, opt: torch.optim.Optimizer, total_steps: int):
    """``plateau`` steps once an epoch on the monitored loss; ``cosine`` steps every optimiser step."""
    s = recipe.schedule
    if s.name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=s.factor, patience=s.patience, threshold=s.threshold, min_lr=s.min_lr
        )
    if s.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps), eta_min=s.min_lr)
    return None


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` as a torch device."""
    why = device_problem(name)
    if why:
        raise ColorkitError(f"device {name!r}: {why}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ColorkitError(f"train.device = '{name}', but CUDA is not available here; use \"auto\" or \"cpu\"")
    return device
