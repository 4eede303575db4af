"""Every registered model and loss, built-in or installed plugin, keeps the same contract.

The built-ins are parametrized by name (tests/conftest.py: read from the built-ins alone, so the set
of tests never depends on what is installed); an installed plugin's models and losses go through the
same checks in one test per kind, on a host built when that test runs."""

import pytest
import torch

from colorkit.testing import TINY_ARGS

SMALL = {
    **TINY_ARGS,
    "eccv16": {"width": 8},
    "patchgan": {"width": 8},
}


def _role(host, name: str) -> str:
    return getattr(host.models.get(name).factory, "role", "generator")


def _plugin_names(installed, builtin, kind: str) -> list[str]:
    """The names of ``kind`` that installed plugins add to the built-ins."""
    return [n for n in installed.registries[kind].names() if n not in builtin.registries[kind]]


def check_model(host, name: str, out_channels: int) -> None:
    torch.manual_seed(0)
    model = host.models.build(name, in_channels=1, out_channels=out_channels, **SMALL.get(name, {}))
    x = torch.randn(2, 1, 64, 64)
    y = model(x)
    assert y.shape == (2, out_channels, 64, 64)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


def check_discriminator(host, name: str) -> None:
    """A discriminator maps an (L, ab) image to finite patch logits, (B, 1, h, w), and trains."""
    torch.manual_seed(0)
    model = host.models.build(name, in_channels=3, out_channels=1, **SMALL.get(name, {}))
    x = torch.randn(2, 3, 64, 64)
    y = model(x)
    assert y.ndim == 4 and y.shape[:2] == (2, 1) and 1 <= y.shape[2] <= 64 and 1 <= y.shape[3] <= 64
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


def check_loss(host, name: str) -> None:
    torch.manual_seed(0)
    loss = host.losses.build(name)
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


@pytest.mark.parametrize("out_channels", [2, 313])
def test_model_contract(builtin_model, out_channels, builtin_host):
    check_model(builtin_host, builtin_model, out_channels)


def test_discriminator_contract(builtin_discriminator, builtin_host):
    check_discriminator(builtin_host, builtin_discriminator)


def test_loss_contract(builtin_loss, builtin_host):
    check_loss(builtin_host, builtin_loss)


def test_installed_plugin_models_keep_the_contract(colorkit_host, builtin_host):
    for name in _plugin_names(colorkit_host, builtin_host, "models"):
        if _role(colorkit_host, name) == "discriminator":
            check_discriminator(colorkit_host, name)
        else:
            for out_channels in (2, 313):
                check_model(colorkit_host, name, out_channels)


def test_installed_plugin_losses_keep_the_contract(colorkit_host, builtin_host):
    for name in _plugin_names(colorkit_host, builtin_host, "losses"):
        check_loss(colorkit_host, name)
