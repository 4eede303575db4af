"""The plugin engine: built-ins and third parties register the same way; broken plugins are reported."""

import sys

import pytest

from colorkit.errors import RegistryError
from colorkit.losses import MSELoss
from colorkit.plugins import create_host
from colorkit.testing import fake_plugin


def registers_loss(name, factory=MSELoss):
    return fake_plugin(colorkit_register_losses=lambda register: register(name, factory))


def test_builtins_register_through_hooks(builtin_host):
    assert {"cunet", "unet", "smp_unet"} <= set(builtin_host.models.names())
    assert "mse" in builtin_host.losses.names()
    assert {"psnr", "ssim", "ab_mse", "colorfulness"} <= set(builtin_host.metrics.names())
    assert builtin_host.losses.get("mse").plugin == "colorkit.losses"
    assert all(not p.errors for p in builtin_host.plugins)


def test_extra_plugin_registers_and_is_listed():
    host = create_host(entry_points=False, extra=[("mine", registers_loss("mine"))])
    assert host.losses.get("mine").plugin == "mine"
    assert {p.name: p.registered for p in host.plugins}["mine"] == {"losses": ["mine"]}


def test_duplicate_name_names_both_plugins_and_rest_works():
    host = create_host(entry_points=False, extra=[("a", registers_loss("dup")), ("b", registers_loss("dup"))])
    problems = " ".join(host.problems())
    assert "'a'" in problems and "'b'" in problems and "dup" in problems
    with pytest.raises(RegistryError, match="registered by both 'a' and 'b'"):
        host.losses.get("dup")
    assert host.losses.get("mse")  # the rest still works


def test_duplicate_of_builtin_is_reported():
    host = create_host(entry_points=False, extra=[("copycat", registers_loss("mse"))])
    with pytest.raises(RegistryError, match="'colorkit.losses' and 'copycat'"):
        host.losses.get("mse")


def test_unknown_name_lists_valid_ones_and_suggests(builtin_host):
    with pytest.raises(RegistryError) as exc:
        builtin_host.models.get("cunett")
    msg = str(exc.value)
    assert "unknown model 'cunett'" in msg and "cunet, eccv16, patchgan, smp_unet, unet" in msg and "Did you mean 'cunet'" in msg


def test_non_callable_and_raising_hooks_are_reported_by_name():
    def boom(register):
        raise RuntimeError("kaput")

    host = create_host(
        entry_points=False,
        extra=[("noncallable", registers_loss("x", factory=42)), ("raiser", fake_plugin(colorkit_register_models=boom))],
    )
    problems = host.problems()
    assert any(p.startswith("noncallable:") and "not callable" in p for p in problems)
    assert any(p.startswith("raiser:") and "kaput" in p for p in problems)
    assert "x" not in host.losses and "cunet" in host.models


def test_unknown_hook_is_reported():
    host = create_host(entry_points=False, extra=[("typo", fake_plugin(colorkit_register_lossses=lambda register: None))])
    assert any("colorkit_register_lossses" in p and p.startswith("typo:") for p in host.problems())


@pytest.fixture
def fake_entry_points(installed_plugins):
    installed_plugins({
        "good": registers_loss("good_loss"),
        "broken": ImportError("No module named 'missing_dependency'"),
        "other": registers_loss("other_loss"),
    }, version="9.9")


def test_plugin_failing_to_import_is_reported_and_rest_work(fake_entry_points):
    host = create_host(env={})
    info = {p.name: p for p in host.plugins}
    assert "missing_dependency" in info["broken"].errors[0] and "failed to import" in info["broken"].errors[0]
    assert info["good"].version == "9.9"
    assert {"good_loss", "other_loss", "mse"} <= set(host.losses.names())


def test_allow_and_deny_lists(fake_entry_points):
    only = create_host(env={"COLORKIT_PLUGINS": "good"})
    assert "good_loss" in only.losses and "other_loss" not in only.losses
    assert "broken" not in {p.name for p in only.plugins}
    denied = create_host(env={"COLORKIT_DISABLE_PLUGINS": "good, broken"})
    assert "good_loss" not in denied.losses and "other_loss" in denied.losses
    assert "mse" in denied.losses  # built-ins are always there


def test_installed_example_plugin_is_discovered(colorkit_host):
    if "colorkit_huber" not in sys.modules and not any(p.name == "huber" for p in colorkit_host.plugins):
        pytest.skip("colorkit-huber is not installed (pip install -e plugins/colorkit-huber)")
    assert colorkit_host.losses.get("huber").plugin == "huber"
