"""Broken installed plugins, through the command line: `colorkit plugins` names each one and its
problem, and the rest of colorkit keeps working. test_plugins.py covers the same cases on the host."""

from pathlib import Path

import pytest

from colorkit.cli import common
from colorkit.losses import MSELoss
from colorkit.plugins import get_host
from colorkit.testing import cli, fake_plugin, plugin_problems

RECIPE = Path(__file__).parents[1] / "recipes" / "cunet_mse.toml"


def registers_loss(name, factory=MSELoss):
    return fake_plugin(colorkit_register_losses=lambda register: register(name, factory))


def raising_hook(register):
    raise RuntimeError("hook exploded")


BROKEN = {
    "missing_dep": (ImportError("No module named 'not_installed'"), "failed to import: ImportError: No module named 'not_installed'"),
    "raises_on_import": (ZeroDivisionError("division by zero"), "failed to import: ZeroDivisionError"),
    "copycat": (registers_loss("l1"), "'colorkit.losses' and 'copycat'"),
    "not_callable": (registers_loss("answer", 42), "registered loss 'answer' as int, which is not callable"),
    "typo_hook": (fake_plugin(colorkit_register_lossses=lambda register: None), "implements 'colorkit_register_lossses', which is not a colorkit hook"),
    "bad_hook": (fake_plugin(colorkit_register_models=raising_hook), "colorkit_register_models raised RuntimeError: hook exploded"),
}


@pytest.fixture
def broken_plugins(installed_plugins, monkeypatch):
    installed_plugins({**{name: target for name, (target, _) in BROKEN.items()}, "fine": registers_loss("fine_loss")})
    monkeypatch.setattr(common.out, "width", 300)  # keep table cells on one line


def test_plugins_command_names_every_broken_plugin_and_its_problem(broken_plugins):
    errors = plugin_problems()
    for name, (_, problem) in BROKEN.items():
        assert problem in errors[name], (name, errors[name])
    assert errors["fine"] == "" and errors["colorkit.losses"] == ""
    table = cli("plugins")
    assert table.exit_code == 0, table.output
    for name in BROKEN:
        row = next(line for line in table.output.splitlines() if f" {name} " in line)
        assert row.split("│")[-2].strip() != "ok", row  # the problems column
    assert "hook exploded" in table.output and "not_installed" in table.output


def test_the_rest_of_colorkit_keeps_working(broken_plugins, tmp_path):
    host = get_host()
    assert "fine_loss" in host.losses and "cunet" in host.models and "answer" not in host.losses
    result = cli("validate", RECIPE)
    assert result.exit_code == 0 and "ok" in result.output, result.output


def test_an_unknown_name_points_at_the_broken_plugins(broken_plugins, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\n[[loss]]\nname = "huberish"\n')
    result = cli("validate", path)
    assert result.exit_code == 2
    assert "unknown loss 'huberish'" in result.output and "Plugins with problems:" in result.output and "missing_dep" in result.output
