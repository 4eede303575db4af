"""Every registered model and loss, built-in or installed plugin, keeps the same contract."""

import pytest
import torch

from colorkit.plugins import create_host
from colorkit.testing import TINY_ARGS

HOST = create_host()
SMALL = {
    **TINY_ARGS,
    "eccv16": {"width": 8},
    "patchgan": {"width": 8},
}


def _role(name: str) -> str:
    return getattr(HOST.models.get(name).factory, "role", "generator")


GENERATORS = [n for n in HOST.models.names() if _role(n) != "discriminator"]
DISCRIMINATORS = [n for n in HOST.models.names() if _role(n) == "discriminator"]


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("out_channels", [2, 313])
def test_model_contract(name, out_channels):
    torch.manual_seed(0)
    model = HOST.models.build(name, in_channels=1, out_channels=out_channels, **SMALL.get(name, {}))
    x = torch.randn(2, 1, 64, 64)
    y = model(x)
    assert y.shape == (2, out_channels, 64, 64)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_contract(name):
    """A discriminator maps an (L, ab) image to finite patch logits, (B, 1, h, w), and trains."""
    torch.manual_seed(0)
    model = HOST.models.build(name, in_channels=3, out_channels=1, **SMALL.get(name, {}))
    x = torch.randn(2, 3, 64, 64)
    y = model(x)
    assert y.ndim == 4 and y.shape[:2] == (2, 1) and 1 <= y.shape[2] <= 64 and 1 <= y.shape[3] <= 64
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", HOST.losses.names())
def test_loss_contract(name):
    torch.manual_seed(0)
    loss = HOST.losses.build(name)
    target = torch.rand(2, 2, 64, 64) * 1.2 - 0.6
    pred = torch.randn(2, loss.out_channels, 64, 64, requires_grad=True)
    terms = loss(pred, target, L=torch.rand(2, 1, 64, 64) * 2 - 1)
    assert terms and all(isinstance(k, str) for k in terms)
    total = sum(terms.values())
    assert total.ndim == 0 and torch.isfinite(total) and total >= 0
    total.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert loss.decode(pred.detach()).shape == (2, 2, 64, 64)
    with pytest.raises(ValueError, match="differ|expected"):
        loss(pred[:, :, :32], target)
