"""Options schemas (issue 13, item 3): defaults written once, every value checked without building."""

import pytest

from colorkit.contracts import options_schema
from colorkit.errors import RecipeError
from colorkit.models.cunet import CUNet
from colorkit.models.unet import UNet
from colorkit.plugins import create_host
from colorkit.recipe import check_names, load_recipe


def recipe_file(tmp_path, body):
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\n[data]\nsize = 32\n[train]\nepochs = 1\n' + body)
    return path


def check(tmp_path, body):
    check_names(load_recipe(recipe_file(tmp_path, body)), create_host(entry_points=False), "r.toml")


@pytest.mark.parametrize("factory, built", [(CUNet, lambda m: (m.depth, m.widths[0], m.dilations)), (UNet, lambda m: (m.depth, m.widths[0], None))])
def test_a_schema_default_is_what_the_built_model_uses(factory, built):
    defaults = options_schema(factory)()
    dilations = getattr(defaults, "dilations", None)
    expected = (defaults.depth, defaults.width, None if dilations is None else dilations * defaults.repeats)
    assert built(factory()) == expected


def test_every_bad_model_option_is_named_in_one_message_without_building(tmp_path, monkeypatch):
    monkeypatch.setattr(CUNet, "__init__", lambda *a, **k: pytest.fail("validate built the model"))
    with pytest.raises(RecipeError) as exc:
        check(tmp_path, '[model]\nname = "cunet"\nargs = { width = "wide", depth = 2, norm = "layer" }\n')
    message = str(exc.value)
    assert "\n" not in message and message.startswith("r.toml: key 'model.args': cunet: ")
    for key in ("model.args.width", "model.args.depth", "model.args.norm"):
        assert key in message, message


def test_an_unknown_option_suggests_the_close_one(tmp_path):
    with pytest.raises(RecipeError, match=r"key 'model.args.widht': unknown option; valid: .*Did you mean 'width'\?"):
        check(tmp_path, '[model]\nname = "unet"\nargs = { widht = 8 }\n')
