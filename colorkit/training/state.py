"""Where a run stands (:class:`TrainingState`, saved in each checkpoint) and how far it may go (:class:`Budget`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrainingState:
    """The run's position and tallies; ``to_dict`` is the ``state`` a checkpoint stores (same keys as ever)."""

    epoch: int = 0
    batch: int = 0
    """Batches of the current epoch already trained on (a resumed run skips them)."""
    step: int = 0
    images: int = 0
    best: float | None = None
    """The best epoch's score (validation loss, else training loss) so far."""
    best_epoch: int | None = None
    """The epoch whose weights ``best.safetensors`` holds (None in runs from before it was kept)."""
    seconds: float = 0.0
    bad_files: int = 0
    done: str | None = None
    """Why the run stopped (None while it goes on)."""
    start_val: dict | None = None
    """A run from ``model.init``: the validation metrics of those weights before the first step."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict) -> "TrainingState":
        """The state a checkpoint saved; keys it lacks keep their defaults, others are not the state's."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in names})


@dataclass(frozen=True)
class Budget:
    """``train.epochs``, ``train.max_images`` and ``train.max_steps``: the run ends at the first one reached."""

    epochs: int | None
    max_images: int | None
    max_steps: int | None
    batch_size: int

    @classmethod
    def of(cls, train) -> "Budget":
        """The budget of a recipe's ``[train]``."""
        return cls(train.epochs, train.max_images, train.max_steps, train.batch_size)

    def images(self, n_train: int) -> int:
        """The images the whole run trains on, with ``n_train`` images an epoch."""
        limits = [
            self.epochs * n_train if self.epochs else None,
            self.max_images,
            self.max_steps * self.batch_size if self.max_steps else None,
        ]
        return min(x for x in limits if x is not None)

    def left_mid_epoch(self, state: TrainingState) -> bool:
        """Whether another step may run (the epoch count is checked between epochs)."""
        if self.max_steps is not None and state.step >= self.max_steps:
            return False
        return self.max_images is None or state.images < self.max_images

    def left(self, state: TrainingState) -> bool:
        """Whether another epoch may start."""
        return self.left_mid_epoch(state) and (self.epochs is None or state.epoch < self.epochs)
