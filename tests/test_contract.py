"""Every registered model and loss, built-in or installed plugin, keeps the same contract.

The built-ins are parametrized by name (tests/conftest.py: read from the built-ins alone, so the set
of tests never depends on what is installed); an installed plugin's models and losses go through the
same checks in one test per kind, on a host built when that test runs. The optional attributes a
factory may set are read through colorkit.contracts, with one default each: plain class attributes
meet them, the base classes inherit them."""

import ast
import re
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from colorkit import contracts
from colorkit.contracts import DISCRIMINATOR, model_role
from colorkit.errors import ColorkitError, RecipeError
from colorkit.hookspecs import hookimpl
from colorkit.loggers import Logger
from colorkit.losses import Loss, MSELoss
from colorkit.plugins import create_host
from colorkit.preprocess import Preprocessor
from colorkit.recipe import validate_file
from colorkit.testing import TINY_ARGS, write_recipe

SMALL = {
    **TINY_ARGS,
    "eccv16": {"width": 8},
    "patchgan": {"width": 8},
}


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
        if model_role(colorkit_host.models.get(name).factory) == DISCRIMINATOR:
            check_discriminator(colorkit_host, name)
        else:
            for out_channels in (2, 313):
                check_model(colorkit_host, name, out_channels)


def test_installed_plugin_losses_keep_the_contract(colorkit_host, builtin_host):
    for name in _plugin_names(colorkit_host, builtin_host, "losses"):
        check_loss(colorkit_host, name)


# --- the optional attributes: colorkit.contracts ------------------------------------------------------


def bare_model(in_channels: int = 1, out_channels: int = 2) -> nn.Module:
    """A model factory that sets nothing: a plain function."""
    return nn.Conv2d(in_channels, out_channels, 1)


class PlainAttributes:
    """A plugin's factory that sets every optional attribute as a plain class attribute, importing nothing."""

    role = "discriminator"
    out_channels = 313
    needs_prepare = True
    supports_pixel_weights = True
    channels = ["skin", "eyes"]
    cache_key = "plain/v1"

    @staticmethod
    def input_stride(depth: int = 2) -> int:
        return 2**depth

    @staticmethod
    def check_available() -> None:
        raise ColorkitError("plain needs an extra: pip install plain")


def test_a_factory_that_sets_nothing_gets_every_default():
    for bare in (bare_model, object(), types.SimpleNamespace()):
        assert contracts.model_role(bare) == "colorizer"
        assert contracts.input_stride(bare, {"width": 8}) == 1
        assert contracts.loss_out_channels(bare) == 2
        assert contracts.needs_prepare(bare) is False and contracts.supports_pixel_weights(bare) is False
        assert contracts.preprocessor_channels(bare) == () and contracts.preprocessor_cache_key(bare) is None
        assert contracts.check_available(bare) is None


def test_plain_class_attributes_are_read():
    assert contracts.model_role(PlainAttributes) == "discriminator"
    assert contracts.input_stride(PlainAttributes, {"depth": 3}) == 8 and contracts.input_stride(PlainAttributes, {}) == 4
    with pytest.raises(TypeError):
        contracts.input_stride(PlainAttributes, {"width": 8})
    assert contracts.loss_out_channels(PlainAttributes) == 313
    assert contracts.needs_prepare(PlainAttributes) and contracts.supports_pixel_weights(PlainAttributes)
    assert contracts.preprocessor_channels(PlainAttributes()) == ("skin", "eyes")
    assert contracts.preprocessor_cache_key(PlainAttributes()) == "plain/v1"
    with pytest.raises(ColorkitError, match="pip install plain"):
        contracts.check_available(PlainAttributes)


def test_the_base_classes_inherit_the_contract_defaults():
    assert (Loss.out_channels, Loss.needs_prepare, Loss.supports_pixel_weights) == (2, False, False)
    assert MSELoss.supports_pixel_weights and contracts.supports_pixel_weights(MSELoss)
    out = torch.randn(1, 2, 4, 4)
    assert Loss().decode(out) is out
    assert (Preprocessor.channels, Preprocessor().cache_key) == ((), None)
    assert Logger.check_available() is None and contracts.check_available(Logger) is None


def test_checkpoint_state_defaults_to_the_whole_state_dict_and_a_strict_load():
    net = nn.Linear(2, 3)
    assert contracts.checkpoint_state(net).keys() == net.state_dict().keys()
    other = nn.Linear(2, 3)
    contracts.load_checkpoint_state(other, contracts.checkpoint_state(net))
    assert torch.equal(other.weight, net.weight)
    with pytest.raises(RuntimeError):
        contracts.load_checkpoint_state(other, {"weight": net.weight})  # the bias is missing: strict

    class OnlyWeight(nn.Linear):
        def checkpoint_state(self):
            return {"weight": self.weight}

        def load_checkpoint_state(self, state):
            self.load_state_dict(state, strict=False)

    own = OnlyWeight(2, 3)
    assert list(contracts.checkpoint_state(own)) == ["weight"]
    contracts.load_checkpoint_state(own, {"weight": net.weight})
    assert torch.equal(own.weight, net.weight)


def test_a_model_without_a_role_is_a_colorizer_in_recipes(tmp_path, tiny_image_folder):
    plugin = types.SimpleNamespace(colorkit_register_models=hookimpl(lambda register: register("bare", bare_model)))
    host = create_host(entry_points=False, extra=[("mine", plugin)])
    assert validate_file(write_recipe(tmp_path / "bare.toml", tiny_image_folder, tmp_path / "runs", model="bare"), host).model.name == "bare"
    with pytest.raises(RecipeError, match="'patchgan' is a discriminator, not a colorizer; valid: .*bare"):
        validate_file(write_recipe(tmp_path / "gan.toml", tiny_image_folder, tmp_path / "runs", model="patchgan"), host)


CONTRACTS = (contracts.ModelContract, contracts.LossContract, contracts.PreprocessorContract, contracts.LoggerContract, contracts.CheckpointContract)


def test_every_optional_attribute_has_a_one_line_docstring():
    tree = ast.parse(Path(contracts.__file__).read_text(encoding="utf-8"))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name in {c.__name__ for c in CONTRACTS}]
    assert len(classes) == len(CONTRACTS)
    for cls in classes:
        body = cls.body[1:]  # after the class docstring
        for i, node in enumerate(body):
            if isinstance(node, ast.FunctionDef):
                doc = ast.get_docstring(node)
            elif isinstance(node, ast.AnnAssign):
                after = body[i + 1] if i + 1 < len(body) else None
                doc = after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) else None
            else:
                continue
            assert doc and "\n" not in doc.strip(), f"{cls.name}: give each attribute a one-line docstring (line {node.lineno})"


def test_the_plugin_guide_lists_every_optional_attribute_with_its_default():
    """docs/plugins.md's table of what colorkit reads from a factory names every attribute of
    colorkit.contracts, and each plain attribute's default as the module has it."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = page.split("## What colorkit reads from a factory", 1)[1].split("\n## ", 1)[0]
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(\w+)` \| [^|]+ \| `([^`]*)` \|", section, re.M)}
    attributes = {name: value for c in CONTRACTS for name, value in vars(c).items() if not name.startswith("_")}
    assert set(rows) == set(attributes)
    plain = {name: repr(value) for name, value in attributes.items() if not isinstance(value, staticmethod) and not callable(value)}
    assert {name: rows[name] for name in plain} == plain
