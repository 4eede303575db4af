"""Build what a recipe describes: the weighted loss set, the network, optimiser and schedule."""

from __future__ import annotations

import torch
from torch import nn

from colorkit.errors import ColorkitError
from colorkit.losses.base import Loss
from colorkit.recipe import Recipe


class LossSet(nn.Module):
    """The recipe's weighted losses. Returns the total and every named term for logging.

    At most one loss may ask for a special network output (class logits, say); it then decodes the
    output to ab for the other losses and for colorizing.
    """

    def __init__(self, terms: list[tuple[str, float, Loss]], specs: list[dict]):
        super().__init__()
        self.names = [name for name, _, _ in terms]
        self.weights = [weight for _, weight, _ in terms]
        self.losses = nn.ModuleList(loss for _, _, loss in terms)
        head = [i for i, loss in enumerate(self.losses) if loss.out_channels != 2]
        self.head = head[0] if head else None
        self.decoder_spec = specs[self.head] if head else None

    @property
    def out_channels(self) -> int:
        return self.losses[self.head].out_channels if self.head is not None else 2

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        return self.losses[self.head].decode(output) if self.head is not None else output

    def forward(self, output: torch.Tensor, target: torch.Tensor, **context) -> tuple[torch.Tensor, dict[str, float]]:
        ab = self.decode(output) if self.head is not None else output
        total = output.new_zeros(())
        logs: dict[str, float] = {}
        repeated = {n for n in self.names if self.names.count(n) > 1}
        for i, (name, weight, loss) in enumerate(zip(self.names, self.weights, self.losses)):
            pred = output if loss.out_channels == self.out_channels else ab
            terms = loss(pred, target, **context)
            label = f"{name}{i}" if name in repeated else name
            for key, value in terms.items():
                logs[label if key == name else f"{label}.{key}"] = float(value.detach())
                total = total + weight * value
        logs["total"] = float(total.detach())
        return total, logs


def build_losses(recipe: Recipe, host) -> LossSet:
    terms, specs = [], []
    for term in recipe.loss:
        terms.append((term.name, term.weight, host.losses.build(term.name, **term.args)))
        specs.append({"name": term.name, "args": term.args})
    return LossSet(terms, specs)


def build_model(spec: dict, host) -> nn.Module:
    """A network from ``{"name", "args", "in_channels", "out_channels"}`` (as stored in checkpoints)."""
    try:
        return host.models.build(spec["name"], in_channels=spec["in_channels"], out_channels=spec["out_channels"], **spec["args"])
    except (TypeError, ValueError) as exc:
        raise ColorkitError(f"model '{spec['name']}': {exc}") from None


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
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ColorkitError(f"train.device = '{name}', but CUDA is not available here; use \"auto\" or \"cpu\"")
    return device
