"""eccv16: the layout of Zhang, Isola and Efros (2016), output at input resolution, trains with rebalanced_ce."""

import pytest
import torch
from torch import nn


def test_paper_layout_at_width_64(builtin_host):
    model = builtin_host.models.build("eccv16", in_channels=1, out_channels=313)
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [c.out_channels for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 12 + [256] * 3 + [313]
    assert [c.stride[0] for c in convs].count(2) == 4  # conv1-3 down, conv8's transposed conv up
    assert isinstance(convs[19], nn.ConvTranspose2d) and convs[19].stride == (2, 2)
    assert [c.dilation[0] for c in convs[10:16]] == [2] * 6  # conv5 and conv6
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 7
    assert builtin_host.models.get("eccv16").factory.input_stride(width=64) == 8


def test_output_at_input_resolution_and_stride_checked(builtin_host):
    model = builtin_host.models.build("eccv16", in_channels=1, out_channels=2, width=4)
    assert model(torch.randn(1, 1, 40, 48)).shape == (1, 2, 40, 48)
    with pytest.raises(ValueError, match="divisible by the model's stride 8"):
        model(torch.randn(1, 1, 36, 36))
    with pytest.raises(ValueError, match="width"):
        builtin_host.models.build("eccv16", width=0)


def test_trains_with_rebalanced_ce(builtin_host):
    torch.manual_seed(0)
    loss = builtin_host.losses.build("rebalanced_ce")
    model = builtin_host.models.build("eccv16", in_channels=1, out_channels=loss.out_channels, width=4)
    L = torch.rand(4, 1, 32, 32) * 2 - 1
    ab = (torch.rand(4, 2, 1, 1) - 0.5).expand(4, 2, 32, 32).contiguous()  # one colour per image
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        value = loss(model(L), ab)["rebalanced_ce"]
        opt.zero_grad()
        value.backward()
        opt.step()
        losses.append(value.item())
    assert losses[-1] < 0.7 * losses[0]
    assert loss.decode(model(L).detach()).shape == (4, 2, 32, 32)
