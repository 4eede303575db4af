"""Hook specifications: what a colorkit plugin may implement.

Every hook is called with keywords only and receives a ``register`` callback owned by the host:
``register(name, factory)``. The host records which plugin registered which name, so a duplicate
is an error that names both plugins. A hook's signature only ever gains arguments.

What colorkit reads from a registered factory, and the default of everything optional, is written
once in :mod:`colorkit.contracts`; plain class attributes meet it, nothing needs importing.
"""

from __future__ import annotations

from typing import Callable, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("colorkit")
hookimpl = pluggy.HookimplMarker("colorkit")


class Register(Protocol):
    def __call__(self, name: str, factory: Callable) -> None: ...


@hookspec
def colorkit_register_models(register: Register) -> None:
    """Register network factories: ``register("cunet", CUNet)``.

    A factory takes ``in_channels`` and ``out_channels`` keywords plus its own options and returns
    an ``nn.Module`` mapping ``(B, in_channels, H, W)`` to ``(B, out_channels, H, W)``. It may
    define ``input_stride(**options) -> int``: the number every input side must be divisible by
    (default 1), and ``role``: ``"colorizer"`` (default) or ``"discriminator"`` (built by a loss,
    never a recipe's ``[model]``). See :class:`colorkit.contracts.ModelContract`.
    """


@hookspec
def colorkit_register_losses(register: Register) -> None:
    """Register losses: ``register("huber", HuberLoss)``; a subclass of ``colorkit.losses.Loss``.

    Its class attributes ``out_channels`` (default 2: ab; another head needs ``decode``),
    ``needs_prepare`` and ``supports_pixel_weights`` (default False) are described, with their
    defaults, in :class:`colorkit.contracts.LossContract`.
    """


@hookspec
def colorkit_register_preprocessors(register: Register) -> None:
    """Register preprocessors that turn an image into extra per-pixel input channels.

    ``register("face_parts", FaceParts)``: a factory (usually a subclass of
    ``colorkit.preprocess.Preprocessor``) that takes its options as keywords, is cheap to build
    (heavy models load on the first call) and returns an object with ``channels`` (the names of its
    channels), ``cache_key`` (implementation and options as a string, or None: never cached) and
    ``__call__(gray)``: one ``(H, W)`` uint8 gray image (L* scaled to 0..255) at the network size ->
    float32 ``(len(channels), H, W)`` in [0, 1]. A recipe's ``[[preprocess]]`` list selects them;
    their channels follow L in the network input and may weight losses (``part_weights``). See
    :class:`colorkit.contracts.PreprocessorContract`.
    """


@hookspec
def colorkit_register_metrics(register: Register) -> None:
    """Register evaluation metrics: ``register("psnr", fn)``.

    ``fn(pred_rgb, true_rgb)`` takes two ``(H, W, 3)`` float arrays in [0, 1] and returns a float.
    A metric that declares a ``pred_ab`` keyword also receives the predicted ab, ``(H, W, 2)`` in LAB
    units before the gamut clamp.

    A metric describes itself with the decorator ``colorkit.metric_info.metric``:
    ``@metric(better="low", unit="LAB ab units", fmt=".2f", label="lips ab error", plot=True, perfect=0.0)``.
    ``better`` is ``"high"``, ``"low"``, ``"abs_low"`` (smallest ``|x|``), ``"near100"`` or None;
    ``header`` (table column, default ``label``), ``plot_fmt`` (bar labels, default ``fmt``) and
    ``perfect`` (the truth's own score) are optional. ``colorkit compare`` reads it through
    ``colorkit.metric_info.describe(name, fn)`` to head, format, bold (best variant) and plot the
    metric. A plain function still works: it is shown with a generic format, never bold, not plotted.
    """


@hookspec
def colorkit_register_loggers(register: Register) -> None:
    """Register experiment trackers: ``register("tensorboard", TensorBoardLogger)``.

    A factory is called as ``factory(run_dir=..., recipe=..., start_step=..., **options)`` when a run
    starts or resumes, with ``options`` from the recipe's ``[log.args.NAME]`` table, and returns an
    object with ``log_metrics(step, values)`` (``values``: ``dict[str, float]``),
    ``log_image(step, name, image)`` (``image``: ``(H, W, 3)`` uint8 array) and ``close()``. A
    resumed run continues from ``start_step``: drop what an earlier attempt logged after it.
    It may define ``check_available()``, raising :class:`colorkit.errors.ColorkitError` with one
    line (such as the optional extra to install) when it cannot work; recipes are checked with it
    (:class:`colorkit.contracts.LoggerContract`).
    """


@hookspec
def colorkit_register_pretrained(register: Register) -> None:
    """Register pretrained models: ``register("faces-scenes", card)``.

    ``card`` is a :class:`colorkit.zoo.card.ModelCard` (``colorkit.zoo.read_card(path)`` reads one
    from TOML): the architecture and options its checkpoint builds, how it was trained and measured,
    its licence, and where its weights are (``package:MODULE/PATH`` for a file inside a package,
    ``hf://OWNER/REPO/FILE@REVISION`` for a Hub file, ``file:///PATH``) with their sha256. Calling
    the card returns the checked weights file, downloading it on first use. Its name is accepted
    wherever colorkit takes a checkpoint, and by ``model.init`` in a recipe.
    """


@hookspec
def colorkit_register_hint_samplers(register: Register) -> None:
    """Register hint samplers, which simulate a user's colour hints from the truth while a hint model trains.

    ``register("points", PointsSampler)``: a factory that takes its options as keywords (a recipe's
    ``[hints.args]``) and returns an object called as ``sampler(ab, L, generator)``: the true ab
    ``(B, 2, S, S)`` scaled like the network's output, the normalised L ``(B, 1, S, S)`` and a
    ``torch.Generator`` to draw every random number from (the trainer seeds it from the seed and the
    step, so runs and resumes repeat) -> ``(B, 3, S, S)`` on ab's device: the hint channels ``hint_a``,
    ``hint_b`` (ab scaled like ab, 0 where there is no hint) and ``hint_mask`` (1 where a hint is), as
    ``colorkit.hints.render_hints`` lays them out. A recipe's ``[hints]`` section selects one
    (``sampler = "points"``). See :class:`colorkit.contracts.HintSamplerContract`.
    """


KINDS = ("models", "losses", "preprocessors", "metrics", "loggers", "pretrained", "hint_samplers")
"""Registry kinds, each filled by the hook ``colorkit_register_<kind>``."""
