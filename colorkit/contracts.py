"""Every contract a plugin's factory must meet, written once, each optional attribute with its one default.

A factory registered through ``colorkit_register_models``, ``..._losses``, ``..._preprocessors``,
``..._hint_samplers`` or ``..._loggers`` (:mod:`colorkit.hookspecs`) is read by colorkit only through the accessors below, so
no caller repeats a default. The contracts are structural: a plugin sets plain class attributes
(``out_channels = 313``, ``supports_pixel_weights = True``) and imports nothing from here. The
classes below hold the optional attributes and their defaults; colorkit's base classes
(:class:`colorkit.losses.Loss`, :class:`colorkit.preprocess.Preprocessor`,
:class:`colorkit.loggers.Logger`) inherit them, and a plugin may too. Metrics describe themselves
with :mod:`colorkit.metric_info`; pretrained models are :class:`colorkit.zoo.card.ModelCard` objects.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    import torch
    from torch import nn

AB_CHANNELS = 2
"""The channels a colorizer predicts by default: a and b, scaled to about [-1, 1]."""

COLORIZER = "colorizer"
"""The role of a model that colours: L (plus preprocessor channels) in, ``out_channels`` out."""

DISCRIMINATOR = "discriminator"
"""The role of a model that judges: an (L, ab) image in, real/fake patch logits out."""

MAX_SIZE = 4096
"""Largest network resolution (``data.size``, ``colorize --size``): 4096 x 4096 is 16.8 million
pixels an image, tens of GB of activations a batch; the output keeps the photo's own resolution
anyway (its L joined with the upsampled ab), so a larger network size only costs memory."""


PositiveInt = Annotated[int, Field(strict=True, ge=1)]
"""An option that is an integer >= 1 (not a bool, not a float)."""

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""An option that is a finite number (an integer is fine, a bool is not); add bounds with ``Field``."""


class OptionsSchema(BaseModel):
    """Base of a factory's ``Options``: one field per option, with its default and constraints, written once.

    ``colorkit validate`` checks a recipe's options against it without building anything; the
    component's ``__init__`` takes its values from :func:`parse_options`. A field validator or a
    model validator may raise ``ValueError`` with a message naming the option(s).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelContract:
    """A model factory: ``factory(in_channels=..., out_channels=..., **options) -> nn.Module`` mapping
    ``(B, in_channels, H, W)`` to ``(B, out_channels, H, W)`` with a linear output (a discriminator:
    to ``(B, out_channels, h, w)`` patch logits); it may set these class attributes."""

    Options: ClassVar[type[OptionsSchema] | None] = None
    """Its options schema (:class:`OptionsSchema`), checked without building; None: its signature is checked instead."""

    role: ClassVar[str] = COLORIZER
    """:data:`COLORIZER` (a recipe's ``[model]``) or :data:`DISCRIMINATOR` (built by name by a loss, never by a recipe)."""

    @staticmethod
    def input_stride(**options: Any) -> int:
        """The number H and W must be divisible by with these options (1: any size); a bad option raises TypeError or ValueError."""
        return 1


class LossContract:
    """A loss factory: ``factory(**options)`` returning an ``nn.Module`` called as
    ``loss(pred, target, **context) -> dict[str, Tensor]``: a subclass of :class:`colorkit.losses.Loss`,
    which inherits these defaults and adds the optional hooks ``prepare``, ``configure_optimizer`` and
    ``auxiliary_step``."""

    Options: ClassVar[type[OptionsSchema] | None] = None
    """Its options schema, as :attr:`ModelContract.Options`."""

    out_channels: ClassVar[int] = AB_CHANNELS
    """The network output it needs: ab (2) or another head (313 class logits, say), which :meth:`decode` turns into ab."""

    needs_prepare: ClassVar[bool] = False
    """Whether ``prepare(ab_batches, cache_dir)`` runs once over the training set's ab before training."""

    supports_pixel_weights: ClassVar[bool] = False
    """Whether it honours ``pixel_weights=`` in its context (recipes may then give it ``part_weights``)."""

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        """Network output -> ab in [-1, 1] for colorizing; a loss on ab returns the output as it is."""
        return output


class PreprocessorContract:
    """A preprocessor factory: ``factory(**options)``, cheap (heavy models load on the first call),
    returning an object called as ``step(gray)``: one ``(H, W)`` uint8 gray image -> float32
    ``(len(channels), H, W)`` in [0, 1] (see :mod:`colorkit.preprocess.base`)."""

    Options: ClassVar[type[OptionsSchema] | None] = None
    """Its options schema, as :attr:`ModelContract.Options`."""

    channels: tuple[str, ...] = ()
    """The names of the channels it makes, in order; recipes refer to them in ``part_weights``."""

    cache_key: str | None = None
    """Its implementation and every option that changes its output, for the mask cache; None: never cached."""


class HintSamplerContract:
    """A hint sampler factory: ``factory(**options)`` returning an object called as
    ``sampler(ab, L, generator) -> Tensor (B, 3, S, S)``: the hint channels of
    :func:`colorkit.hints.render_hints` simulated from the true ab (see :mod:`colorkit.hints.sampler`)."""

    Options: ClassVar[type[OptionsSchema] | None] = None
    """Its options schema, as :attr:`ModelContract.Options`."""


class LoggerContract:
    """A logger factory: ``factory(run_dir=..., recipe=..., start_step=..., **options)`` returning an
    object with ``log_metrics(step, values)``, ``log_image(step, name, image)`` and ``close()``."""

    @staticmethod
    def check_available() -> None:
        """Raise :class:`colorkit.errors.ColorkitError` with one line (the extra to install) when it cannot work."""


class CheckpointContract:
    """A module saved in checkpoints (a network, the loss set) may choose which tensors it saves."""

    def checkpoint_state(self: nn.Module) -> dict[str, torch.Tensor]:
        """The tensors to save; by default its whole ``state_dict()``."""
        return self.state_dict()

    def load_checkpoint_state(self: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`checkpoint_state` saved, raising on a mismatch; by default a strict ``load_state_dict``."""
        self.load_state_dict(state, strict=True)


# --- the accessors: how colorkit reads a factory ----------------------------------------------------


def model_role(factory) -> str:
    """A model factory's :attr:`ModelContract.role`."""
    return getattr(factory, "role", ModelContract.role)


def options_schema(factory) -> type[OptionsSchema] | None:
    """A factory's :attr:`ModelContract.Options` (the same for losses, preprocessors and hint samplers)."""
    return getattr(factory, "Options", None)


def option_problems(schema: type[OptionsSchema], options: dict) -> tuple[OptionsSchema | None, list[tuple[str | None, str]]]:
    """Validate ``options``: the parsed options (None on a problem) and every problem as (option or None, text)."""
    try:
        return schema(**options), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) if err["loc"] else None  # an option may be named ""
            if err["type"] == "extra_forbidden":
                problems.append((key, "unknown option"))
                continue
            msg = err["msg"].removeprefix("Value error, ")
            own = key is None or err["type"] == "value_error"  # a validator's own message says what it got
            problems.append((key, msg if own else f"{msg}, got {_shown(err.get('input'))}"))
        return None, problems


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_options(owner: str, schema: type[OptionsSchema], options: dict) -> OptionsSchema:
    """``options`` parsed by ``schema``; an unknown option is a TypeError, a bad value a ValueError, naming ``owner`` and every option."""
    parsed, problems = option_problems(schema, options)
    if parsed is not None:
        return parsed
    text = f"{owner}: " + "; ".join(msg if key is None else f"option '{key}': {msg}" for key, msg in problems)
    unknown = [key for key, msg in problems if msg == "unknown option"]
    if unknown:
        raise TypeError(f"{text}; valid: {', '.join(schema.model_fields)}")
    raise ValueError(text)


def options_signature(schema: type[OptionsSchema], **fixed: Any) -> inspect.Signature:
    """The call signature a factory taking ``**options`` shows: ``fixed`` (name=default), then the schema's fields."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(k, kind, default=v) for k, v in fixed.items()]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=f.default) for k, f in schema.model_fields.items()]
    return inspect.Signature(params)


def input_stride(factory, options: dict) -> int:
    """A model factory's :meth:`ModelContract.input_stride` for ``options``; its errors pass through."""
    fn = getattr(factory, "input_stride", ModelContract.input_stride)
    return int(fn(**options))


def loss_out_channels(loss) -> int:
    """A loss factory's (or loss's) :attr:`LossContract.out_channels`."""
    return getattr(loss, "out_channels", LossContract.out_channels)


def needs_prepare(loss) -> bool:
    """A loss factory's (or loss's) :attr:`LossContract.needs_prepare`."""
    return bool(getattr(loss, "needs_prepare", LossContract.needs_prepare))


def supports_pixel_weights(loss) -> bool:
    """A loss factory's (or loss's) :attr:`LossContract.supports_pixel_weights`."""
    return bool(getattr(loss, "supports_pixel_weights", LossContract.supports_pixel_weights))


def preprocessor_channels(step) -> tuple:
    """A built preprocessor's :attr:`PreprocessorContract.channels`, as a tuple."""
    return tuple(getattr(step, "channels", PreprocessorContract.channels))


def preprocessor_cache_key(step) -> str | None:
    """A built preprocessor's :attr:`PreprocessorContract.cache_key`."""
    return getattr(step, "cache_key", PreprocessorContract.cache_key)


def check_available(factory) -> None:
    """Run a logger factory's :meth:`LoggerContract.check_available`."""
    getattr(factory, "check_available", LoggerContract.check_available)()


def checkpoint_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors a checkpoint saves of ``module``: :meth:`CheckpointContract.checkpoint_state`."""
    fn = getattr(module, "checkpoint_state", None)
    return fn() if fn is not None else CheckpointContract.checkpoint_state(module)


def load_checkpoint_state(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load ``state`` into ``module``: :meth:`CheckpointContract.load_checkpoint_state`."""
    fn = getattr(module, "load_checkpoint_state", None)
    if fn is not None:
        fn(state)
    else:
        CheckpointContract.load_checkpoint_state(module, state)
