"""A plugin cannot take colorkit down: one that calls sys.exit() or raises a BaseException while
importing or registering is reported like any broken plugin, and text a plugin supplies (its error,
its names, its docstrings) is printed as text, never read as Rich markup."""

import sys
from pathlib import Path

import pytest

from colorkit.cli import common
from colorkit.losses import MSELoss
from colorkit.plugins import create_host
from colorkit.testing import cli, fake_plugin, plugin_problems

RECIPE = Path(__file__).parents[1] / "recipes" / "cunet_mse.toml"


class Doom(BaseException):
    """Not an Exception: escapes `except Exception`."""


class MarkupLoss(MSELoss):
    """Reads [/etc/x] and [bold]not bold[/bold] literally."""


def exits(register):
    sys.exit(4)


def dooms(register):
    raise Doom("the end")


BROKEN = {
    "exits_on_import": (SystemExit(3), "failed to import: SystemExit: 3"),
    "exits_quietly_on_import": (SystemExit(), "failed to import: SystemExit"),
    "dooms_on_import": (Doom("import"), "failed to import: Doom: import"),
    "exits_in_hook": (fake_plugin(colorkit_register_losses=exits), "colorkit_register_losses raised SystemExit: 4"),
    "dooms_in_hook": (fake_plugin(colorkit_register_models=dooms), "colorkit_register_models raised Doom: the end"),
    "markup_error": (ImportError("No module named '[/etc/x]'"), "No module named '[/etc/x]'"),
}


@pytest.fixture
def plugins(installed_plugins, monkeypatch):
    installed_plugins({
        **{name: target for name, (target, _) in BROKEN.items()},
        "markup_doc": fake_plugin(colorkit_register_losses=lambda register: register("[red]odd[/red]", MarkupLoss)),
        "fine": fake_plugin(colorkit_register_losses=lambda register: register("fine_loss", MSELoss)),
    })
    monkeypatch.setattr(common.out, "width", 400)  # keep table cells on one line


def test_a_plugin_that_exits_or_raises_a_base_exception_is_reported_and_the_rest_work(plugins):
    errors = plugin_problems()
    for name, (_, problem) in BROKEN.items():
        assert problem in errors[name], (name, errors[name])
    assert errors["fine"] == "" and errors["colorkit.models"] == ""
    ok = cli("validate", RECIPE, "--set", "loss.0.name=fine_loss")
    assert ok.exit_code == 0 and ok.output.startswith("ok "), ok.output


def test_plugin_errors_names_and_docstrings_print_as_text_not_markup(plugins):
    table = cli("plugins")
    assert table.exit_code == 0, table.output
    assert "No module named '[/etc/x]'" in table.output
    assert "[red]odd[/red]" in table.output
    assert "Reads [/etc/x] and [bold]not bold[/bold] literally." in table.output
    for name in BROKEN:
        assert name in table.output


def test_an_unknown_name_that_looks_like_markup_is_one_plain_line(plugins):
    result = cli("validate", RECIPE, "--set", "model.name='[/etc/x]'")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "unknown model '[/etc/x]'" in line and "Plugins with problems:" in line and "exits_on_import" in line


def test_ctrl_c_while_loading_plugins_still_stops_colorkit(installed_plugins):
    installed_plugins({"interrupted": KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        create_host()


def test_a_name_with_a_control_character_is_refused_at_registration():
    bad = fake_plugin(colorkit_register_losses=lambda register: register("two\nlines", MSELoss))
    host = create_host(extra=[("newline", bad)], entry_points=False)
    (info,) = [p for p in host.plugins if p.name == "newline"]
    assert "invalid name 'two\\nlines'" in " ".join(info.errors) and "two\nlines" not in host.losses
