"""Options schemas (issue 13, item 3): defaults written once, every value checked without building."""

import pytest

from colorkit.contracts import options_schema
from colorkit.errors import RecipeError
from colorkit.losses.adversarial import AdversarialLoss
from colorkit.losses.rebalanced_ce import RebalancedCELoss
from colorkit.models.cunet import CUNet
from colorkit.models.unet import UNet
from colorkit.plugins import create_host
from colorkit.preprocess.ellipse import FaceEllipse
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


@pytest.mark.parametrize(
    "body,where",
    [
        ('[model]\nname = "cunet"\nargs = { "" = 8 }\n', "model.args"),  # checked by its Options schema
        ('[[loss]]\nname = "l1"\nargs = { "" = 8 }\n', "loss.0.args"),
    ],
)
def test_an_option_named_by_the_empty_string_is_refused_in_one_line(tmp_path, body, where):
    with pytest.raises(RecipeError, match=rf"key '{where}.\"\"': unknown option; valid: "):
        check(tmp_path, body)


def test_three_bad_values_in_three_components_are_one_message_and_nothing_is_built(tmp_path, monkeypatch):
    for cls in (CUNet, RebalancedCELoss, FaceEllipse):
        monkeypatch.setattr(cls, "__init__", lambda *a, **k: pytest.fail("validate built a component"))
    body = (
        '[model]\nname = "cunet"\nargs = { width = 0 }\n'
        '[[loss]]\nname = "rebalanced_ce"\nargs = { lam = 2.0 }\n'
        '[[preprocess]]\nname = "face_ellipse"\nargs = { softness = -1 }\n'
    )
    with pytest.raises(RecipeError) as exc:
        check(tmp_path, body)
    message = str(exc.value)
    assert "\n" not in message, message
    for fragment in ("key 'model.args': cunet: model.args.width:", "key 'loss.0.args': rebalanced_ce: loss.0.args.lam:",
                     "key 'preprocess.0.args': face_ellipse: preprocess.0.args.softness:"):
        assert fragment in message, message


@pytest.mark.parametrize("factory, attributes", [
    (RebalancedCELoss, ("lam", "sigma", "temperature", "soft_neighbours")),
    (FaceEllipse, ("cx", "cy", "rx", "ry", "softness")),
    (AdversarialLoss, ("discriminator", "l1_weight", "gan_weight", "lr", "betas", "gan_mode")),
])
def test_a_loss_or_preprocessor_uses_its_schema_defaults(factory, attributes):
    defaults = options_schema(factory)()
    built = factory()
    assert {a: getattr(built, a) for a in attributes} == {a: getattr(defaults, a) for a in attributes}
