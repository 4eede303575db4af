"""Built-in models: the factory contract, strides, CU-net's dilated stack, option errors, offline weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorkit.errors import WeightsUnavailableError
from colorkit.models import CUNet, SmpUnet, UNet
from colorkit.plugins import create_host

# Narrow nets: the whole file has to run in seconds on two shared CPU cores.
SMALL = {
    "unet": dict(width=4, depth=3),
    "cunet": dict(width=4, depth=4, dilations=(1, 2, 4)),
    "smp_unet": dict(encoder_name="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4)),
}


@pytest.fixture(scope="module")
def models():
    return create_host(entry_points=False).models


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_builtins_are_registered_with_a_one_line_doc(models):
    assert {"cunet", "unet", "smp_unet"} <= set(models.names())
    for name in ("cunet", "unet", "smp_unet"):
        entry = models.get(name)
        assert entry.plugin == "colorkit.models"
        assert entry.doc and "\n" not in entry.doc


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("in_channels,out_channels", [(1, 2), (3, 313)])
def test_contract_shape_finite_backward(models, name, in_channels, out_channels):
    model = models.build(name, in_channels=in_channels, out_channels=out_channels, **SMALL[name])
    assert isinstance(model, nn.Module)
    x = torch.randn(2, in_channels, 64, 64)
    y = model(x)
    assert y.shape == (2, out_channels, 64, 64)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"


def test_output_is_linear_not_squashed(models):
    """No final activation: outputs can leave [-1, 1] and take both signs."""
    model = models.build("unet", **SMALL["unet"]).eval()
    with torch.no_grad():
        model.head.bias.fill_(5.0)
        assert (model(torch.randn(1, 1, 16, 16)) > 1).any()
        model.head.bias.fill_(-5.0)
        assert (model(torch.randn(1, 1, 16, 16)) < -1).any()


@pytest.mark.parametrize(
    "name,options,stride",
    [
        ("unet", {}, 16),
        ("unet", dict(depth=3), 8),
        ("cunet", {}, 4),
        ("cunet", dict(depth=5), 8),
        ("cunet", dict(depth=3), 2),
        ("smp_unet", {}, 32),
        ("smp_unet", dict(encoder_depth=3), 8),
    ],
)
def test_input_stride_from_options(models, name, options, stride):
    factory = models.get(name).factory
    assert factory.input_stride(**options) == stride
    # recipe validation passes every model option, including the ones that do not affect the stride
    assert factory.input_stride(in_channels=1, out_channels=2, **options) == stride


@pytest.mark.parametrize("name", sorted(SMALL))
def test_input_stride_matches_reality(models, name):
    model = models.build(name, **SMALL[name]).eval()
    stride = type(model).input_stride(**SMALL[name])
    odd = stride * 5  # divisible by the stride, not by twice the stride
    with torch.no_grad():
        assert model(torch.randn(1, 1, odd, odd + stride)).shape == (1, 2, odd, odd + stride)
        with pytest.raises(ValueError, match="divisible by"):
            model(torch.randn(1, 1, odd + stride // 2, odd))


def test_cunet_depth4_stride4_accepts_36x36():
    model = CUNet(width=4, depth=4, dilations=(1, 2)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 36, 36)).shape == (1, 2, 36, 36)


def _dilated_conv_inputs(model: CUNet, x: torch.Tensor) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(input H W, dilation) of every conv in the dilated stack, recorded by forward hooks."""
    seen = []
    convs = [m for m in model.dilated.modules() if isinstance(m, nn.Conv2d)]
    hooks = [c.register_forward_hook(lambda m, args, out: seen.append((tuple(args[0].shape[-2:]), m.dilation)))
             for c in convs]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in hooks:
            h.remove()
    assert out.shape[-2:] == x.shape[-2:]
    return seen


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_cunet_dilated_stack_keeps_the_bottom_resolution(depth):
    dilations = (1, 2, 4, 8)
    model = CUNet(width=4, depth=depth, dilations=dilations).eval()
    seen = _dilated_conv_inputs(model, torch.randn(1, 1, 64, 64))
    bottom = 64 // 2 ** (depth - 2)
    assert [size for size, _ in seen] == [(bottom, bottom)] * len(dilations)
    assert [d for _, d in seen] == [(r, r) for r in dilations]
    # each dilated conv keeps the resolution (padding == dilation) and uses the bottom level's channels
    for conv in (m for m in model.dilated.modules() if isinstance(m, nn.Conv2d)):
        assert conv.stride == (1, 1) and conv.padding == conv.dilation and conv.kernel_size == (3, 3)
        assert conv.in_channels == conv.out_channels == 4 * 2 ** (depth - 2)


def test_cunet_dilations_and_repeats_set_the_conv_modules():
    a = CUNet(width=4, depth=4, dilations=(1, 2, 4, 8, 16))
    b = CUNet(width=4, depth=4, dilations=[3, 5], repeats=2)
    rates = lambda m: [c.dilation[0] for c in m.dilated.modules() if isinstance(c, nn.Conv2d)]  # noqa: E731
    assert rates(a) == [1, 2, 4, 8, 16]
    assert rates(b) == [3, 5, 3, 5]
    assert b.dilations == (3, 5, 3, 5)


@pytest.mark.parametrize("depth", [3, 4, 6])
def test_cunet_has_exactly_depth_minus_2_downsamplings(depth):
    pools = [m for m in CUNet(width=2, depth=depth).modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == depth - 2
    strided = [m for m in CUNet(width=2, depth=depth, downsample="conv").modules()
               if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == depth - 2
    unet_pools = [m for m in UNet(width=2, depth=depth).modules() if isinstance(m, nn.MaxPool2d)]
    assert len(unet_pools) == depth


def test_cunet_residual_and_options_change_the_network():
    x = torch.randn(1, 1, 32, 32)
    torch.manual_seed(1)
    plain = CUNet(width=4, depth=4, dilations=(1, 2)).eval()
    torch.manual_seed(1)
    res = CUNet(width=4, depth=4, dilations=(1, 2), residual=True).eval()
    with torch.no_grad():
        assert not torch.allclose(plain(x), res(x))
    for norm in ("instance", "none"):
        for upsample in ("bilinear", "transpose"):
            m = CUNet(width=4, depth=4, dilations=(1,), norm=norm, upsample=upsample)
            assert m(x).shape == (1, 2, 32, 32)


def test_unet_variants():
    x = torch.randn(2, 1, 32, 32)
    m = UNet(width=4, depth=2, max_width=8, downsample="conv", upsample="transpose", norm="none")
    assert m.widths == [4, 8, 8]
    assert m(x).shape == (2, 2, 32, 32)


@pytest.mark.parametrize(
    "name,options,option",
    [
        ("cunet", dict(depth=2), "depth"),
        ("cunet", dict(depth=4.0), "depth"),
        ("cunet", dict(width=0), "width"),
        ("cunet", dict(dilations=()), "dilations"),
        ("cunet", dict(dilations=(1, 0)), "dilations"),
        ("cunet", dict(dilations="1,2"), "dilations"),
        ("cunet", dict(repeats=0), "repeats"),
        ("cunet", dict(residual="yes"), "residual"),
        ("cunet", dict(norm="layer"), "norm"),
        ("cunet", dict(width=64, max_width=32), "max_width"),
        ("unet", dict(depth=0), "depth"),
        ("unet", dict(width=True), "width"),
        ("unet", dict(upsample="pixelshuffle"), "upsample"),
        ("unet", dict(downsample="avg"), "downsample"),
        ("unet", dict(in_channels=0), "in_channels"),
        ("unet", dict(out_channels=0), "out_channels"),
        ("smp_unet", dict(encoder_depth=6), "encoder_depth"),
        ("smp_unet", dict(encoder_depth=2), "encoder_depth"),
        ("smp_unet", dict(decoder_channels=(16, 8)), "decoder_channels"),
        ("smp_unet", dict(encoder_name="resnet19"), "encoder_name"),
        ("smp_unet", dict(encoder_name="tu-not_a_model"), "encoder_name"),
        ("smp_unet", dict(encoder_weights="instagram"), "encoder_weights"),
        ("smp_unet", dict(encoder_weights=3), "encoder_weights"),
        ("smp_unet", dict(decoder_interpolation="cubic"), "decoder_interpolation"),
    ],
)
def test_bad_options_name_the_option(models, name, options, option):
    with pytest.raises(ValueError, match=rf"^{name}: .*\b{option}\b"):
        models.build(name, **options)
    stride_options = {k: v for k, v in options.items() if k not in ("in_channels", "out_channels")}
    if stride_options:  # recipe validation sees the same error without building anything
        with pytest.raises(ValueError, match=rf"\b{option}\b"):
            models.get(name).factory.input_stride(**stride_options)


def test_unknown_option_is_a_type_error_for_input_stride():
    with pytest.raises(TypeError):
        CUNet.input_stride(dilation=(1, 2))


@pytest.mark.parametrize("weights", [None, "none", "None", False])
def test_smp_unet_none_weights_mean_random_init(weights):
    assert SmpUnet.check_options(encoder_weights=weights)["encoder_weights"] is None


def test_smp_unet_drops_encoder_stages_it_never_runs():
    """smp keeps a resnet's layer3/layer4 at encoder_depth=3; they would get no gradient."""
    model = SmpUnet(**SMALL["smp_unet"])
    assert model.pruned == ["layer3", "layer4"]
    assert not any(n.startswith("net.encoder.layer3.") for n, _ in model.named_parameters())


def test_smp_unet_timm_encoder():
    model = SmpUnet(encoder_name="tu-resnet10t", encoder_depth=3, decoder_channels=(8, 8, 8))
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 2, 32, 32)
    assert SmpUnet.check_options(encoder_name="tu-resnet10t", encoder_weights="imagenet")["encoder_weights"] is True


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and empty caches, whether or not huggingface_hub was imported before."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    # huggingface_hub reads these at import time; patch the live values too
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    return tmp_path


@pytest.mark.parametrize("encoder_name,weights", [("resnet18", "imagenet"), ("tu-resnet10t", True)])
def test_smp_unet_offline_weights_give_one_clear_line(models, offline, encoder_name, weights):
    with pytest.raises(WeightsUnavailableError) as info:
        models.build("smp_unet", encoder_name=encoder_name, encoder_weights=weights, encoder_depth=3)
    message = str(info.value)
    assert "\n" not in message
    assert "encoder_weights" in message and '"none"' in message
    assert encoder_name in message
    assert info.value.__cause__ is not None  # the original error is chained, not swallowed


def test_smp_unet_programming_errors_are_not_wrapped(monkeypatch):
    import segmentation_models_pytorch as smp

    def broken(**kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(smp, "Unet", broken)
    with pytest.raises(TypeError, match="a bug"):
        SmpUnet(encoder_weights="imagenet")


def test_defaults_build_with_documented_strides():
    for cls, stride in ((CUNet, 4), (UNet, 16), (SmpUnet, 32)):
        model = cls()
        assert model.stride == cls.input_stride() == stride
